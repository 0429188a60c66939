package natsstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/presence"
)

// crash cuts the store's connection as a killed process would: its lease
// is not released, and lapses.
func (s *Store) crash() { s.nc.Close() }

// A process whose lease lapses has its subscriptions taken over by
// exactly one of the others, with their reserved sequence marks; the one
// that took them loads them as its own.
func TestTakeover_ADeadNodesSubscriptionsGoToOneSurvivor(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b, c := openFast(t, url, "a"), openFast(t, url, "b"), openFast(t, url, "c")
	sub := presence.Subscription{ID: "call;from;to", Presentity: "sip:alice@example.com", Watcher: "sip:w@example.com",
		Expires: time.Now().Add(time.Hour).Round(0), SeqReserved: 7, Dialog: []byte("dialog")}
	lapsed := sub
	lapsed.ID, lapsed.Expires = "lapsed", time.Now().Add(-time.Second)
	for _, s := range []presence.Subscription{sub, lapsed} {
		if err := a.PutSubscription(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}

	adopted := make(chan string, 4)
	run, stop := context.WithCancel(t.Context())
	done := make(chan error, 2)
	for _, s := range []*Store{b, c} {
		go func() {
			done <- s.Takeover(run, func(got presence.Subscription) bool {
				if got.ID != sub.ID || got.SeqReserved != 7 || string(got.Dialog) != "dialog" {
					t.Errorf("adopted %+v, want %+v", got, sub)
				}
				if s == b {
					adopted <- "b"
				} else {
					adopted <- "c"
				}
				return true
			})
		}()
	}
	a.crash()
	var by string
	select {
	case by = <-adopted:
	case <-time.After(20 * time.Second):
		t.Fatal("nobody took a's subscription over")
	}
	taker := map[string]*Store{"b": b, "c": c}[by]
	deadline := time.Now().Add(10 * time.Second)
	for taker.Stats().Takeovers == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := taker.Stats(); st.Takeovers != 1 || st.Adopted != 1 {
		t.Fatalf("taker's stats %+v, want one takeover of one subscription", st)
	}
	var own []presence.Subscription
	if err := taker.LoadSubscriptions(t.Context(), func(s presence.Subscription) error { own = append(own, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(own) != 1 || own[0].ID != sub.ID {
		t.Fatalf("%s loads %+v, want the taken-over subscription", by, own)
	}
	// Let both look again: the dead member is gone, nobody adopts twice.
	for _, s := range []*Store{b, c} {
		for st := s.Stats(); (st.Members != 2 || st.Orphans != 0) && time.Now().Before(deadline); st = s.Stats() {
			time.Sleep(20 * time.Millisecond)
		}
	}
	stop()
	for range 2 {
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	select {
	case again := <-adopted:
		t.Fatalf("adopted twice (also by %s)", again)
	default:
	}
}
