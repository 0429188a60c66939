package acd_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// Reserve rings an agent chosen by hand only when it is available, and
// says why not otherwise; nothing changes on a refusal.
func TestReserve_OnlyAnAvailableAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig())
		ctx := context.Background()
		it := s.NewItem("v1", "billing", "", 0, time.Now())

		var unavailable *acd.UnavailableError
		if err := s.Reserve(ctx, "sip:nobody@example.com", it); !errors.Is(err, acd.ErrUnknownAgent) {
			t.Errorf("unknown agent: %v", err)
		}
		if err := s.Reserve(ctx, bob, it); !errors.As(err, &unavailable) || unavailable.State != acd.StateOffline {
			t.Errorf("offline bob: %v", err)
		}
		s.SetRegistered(ctx, bob, true)
		s.SetAway(ctx, bob, true, "")
		if err := s.Reserve(ctx, bob, it); !errors.As(err, &unavailable) || unavailable.State != acd.StateAway ||
			!errors.Is(err, acd.ErrAgentUnavailable) {
			t.Errorf("away bob: %v", err)
		}
		if got := state(t, s, bob); got != acd.StateAway {
			t.Errorf("a refusal changed bob to %s", got)
		}
		s.SetAway(ctx, bob, false, "")
		// bob has no billing skill at the group's minimum: a transfer by
		// hand rings him all the same.
		if err := s.Reserve(ctx, bob, it); err != nil {
			t.Fatalf("available bob: %v", err)
		}
		if got := state(t, s, bob); got != acd.StateReserved {
			t.Errorf("bob %s after Reserve, want reserved", got)
		}
		if err := s.Reserve(ctx, bob, it); !errors.As(err, &unavailable) || unavailable.State != acd.StateReserved {
			t.Errorf("reserved bob reserved again: %v", err)
		}
	})
}

// A transferred visitor goes back in a queue with its first arrival
// time: ahead of those who came after it, behind those who came before.
func TestRequeue_KeepsTheFirstArrival(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig())
		first := s.NewItem("first", "billing", alice, 0, time.Now())
		time.Sleep(time.Second)
		enqueue(t, s, "before", "support")
		time.Sleep(time.Second)
		enqueue(t, s, "after", "support")
		if err := s.Requeue(first, "support"); err != nil {
			t.Fatal(err)
		}
		if pos, _ := s.Waiting("support", "first", time.Now()); pos != 1 {
			t.Errorf("transferred visitor at %d, want 1 (it came first)", pos)
		}
		if first.Group != "support" || first.Preferred != "" {
			t.Errorf("item after Requeue: group %q, preferred %q", first.Group, first.Preferred)
		}
		if err := s.Requeue(first, "support"); err != nil {
			t.Fatal(err)
		}
		if got := s.Status(time.Now())[1].QueueLength; got != 3 {
			t.Errorf("support queue %d long after a second Requeue, want 3", got)
		}
		if err := s.Requeue(first, "sales"); !errors.Is(err, acd.ErrUnknownGroup) {
			t.Errorf("unknown group: %v", err)
		}
	})
}
