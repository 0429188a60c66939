package acd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/acd"
)

const dave = "sip:dave@example.com"

// routed routes at the virtual now and returns the item's id and agent.
func routed(s *acd.Service) (string, string) {
	it, uri, ok := s.Route(time.Now(), nil)
	if !ok {
		return "", ""
	}
	return it.ID, uri
}

// enqueue queues visitor id in group now, with no preferred agent.
func enqueue(t *testing.T, s *acd.Service, id, group string) *acd.Item {
	t.Helper()
	it := s.NewItem(id, group, "", 0, time.Now())
	if _, err := s.Enqueue(it); err != nil {
		t.Fatal(err)
	}
	return it
}

// An agent who let a visitor ring out is offered that visitor again once
// ring_skip has passed: a visitor never waits for good behind a free,
// eligible agent.
func TestRoute_MissedAgentIsOfferedTheVisitorAgainAfterRingSkip(t *testing.T) {
	cfg := testConfig()
	cfg.RingSkip = 20 * time.Second
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		ctx := context.Background()
		s.SetRegistered(ctx, alice, true)
		it := enqueue(t, s, "v1", "billing")
		if _, uri := routed(s); uri != alice {
			t.Fatalf("first offer to %q", uri)
		}
		s.Offer(ctx, alice, it)
		s.Missed(ctx, alice, it)
		if id, uri := routed(s); uri != "" {
			t.Fatalf("%s offered to %s again at once", id, uri)
		}
		time.Sleep(20 * time.Second)
		if _, uri := routed(s); uri != alice {
			t.Fatalf("after ring_skip: offered to %q, want alice again", uri)
		}
	})
}

// An offer that failed for a reason of ours (the phone's answer could not
// be used) is not the agent's miss: it is never set away for it.
func TestFailed_IsNotCountedAsTheAgentsMiss(t *testing.T) {
	s, _ := newService(t, testConfig()) // max_misses 3
	ctx := context.Background()
	s.SetRegistered(ctx, alice, true)
	for i := range 5 {
		it := &acd.Item{ID: "v", Group: "billing", Enqueued: time.Now()}
		s.Offer(ctx, alice, it)
		s.Failed(ctx, alice, it)
		if got := state(t, s, alice); got != acd.StateAvailable {
			t.Fatalf("after %d failed offers: %s, want available", i+1, got)
		}
	}
}

// A free agent who serves two groups takes the visitor who has waited
// longest across them; a group of higher priority goes first.
func TestRoute_OldestVisitorAcrossTheAgentsGroupsWins(t *testing.T) {
	cfg := testConfig()
	cfg.Agents = append(cfg.Agents, acd.AgentConfig{URI: dave, Skills: map[string]int{"billing": 4, "support": 4}})
	for _, tc := range []struct {
		name             string
		supportPriority  int
		first, want, why string
	}{
		{"support first", 0, "support", "s1", "the support visitor waited longer"},
		{"billing first", 0, "billing", "b1", "the billing visitor waited longer"},
		{"priority", 1, "billing", "s1", "support has the higher priority"},
	} {
		cfg.Groups[1].Priority = tc.supportPriority
		synctest.Test(t, func(t *testing.T) {
			s, _ := newService(t, cfg)
			s.SetRegistered(context.Background(), dave, true)
			second := map[string]string{"billing": "support", "support": "billing"}[tc.first]
			items := map[string]*acd.Item{}
			items[tc.first[:1]+"1"] = enqueue(t, s, tc.first[:1]+"1", tc.first)
			time.Sleep(time.Second)
			items[second[:1]+"1"] = enqueue(t, s, second[:1]+"1", second)
			for range 20 { // the same every time, not a map's order
				id, uri := routed(s)
				if id != tc.want || uri != dave {
					t.Fatalf("%s: routed %s to %s, want %s (%s)", tc.name, id, uri, tc.want, tc.why)
				}
				s.Release(context.Background(), "", items[id])
			}
		})
	}
}

// A visitor waits for its preferred agent while that agent is signed in,
// up to sticky_wait, then anyone with the skill may take it; a preferred
// agent who is offline is not waited for.
func TestRoute_StickyWaitsForThePreferredAgentThenOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig()) // sticky_wait 30 s
		ctx := context.Background()
		s.SetRegistered(ctx, alice, true)
		s.SetRegistered(ctx, carol, true)
		s.Offer(ctx, alice, &acd.Item{ID: "other"})
		s.Answered(ctx, alice) // alice is on another call
		it := s.NewItem("v1", "billing", alice, 0, time.Now())
		s.Enqueue(it)
		if id, uri := routed(s); uri != "" {
			t.Fatalf("%s went to %s while its preferred agent is on a call", id, uri)
		}
		time.Sleep(30 * time.Second)
		if _, uri := routed(s); uri != carol {
			t.Fatalf("after sticky_wait: %q, want carol", uri)
		}
		s.Release(ctx, carol, it)

		s.SetRegistered(ctx, bob, false)
		other := s.NewItem("v2", "billing", bob, 0, time.Now()) // bob is offline
		s.Enqueue(other)
		if id, uri := routed(s); id != "v1" || uri != carol {
			t.Fatalf("routed %s to %s, want v1 to carol", id, uri)
		}
	})
}

// Proficiency steps offer the best-skilled agents first and widen with the
// wait.
func TestRoute_ProficiencyStepsWiden(t *testing.T) {
	cfg := testConfig()
	cfg.Groups[0].ProficiencySteps = []acd.ProficiencyStep{{After: 0, Min: 5}, {After: 30 * time.Second, Min: 4}}
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		ctx := context.Background()
		s.SetRegistered(ctx, alice, true) // billing 4
		enqueue(t, s, "v1", "billing")
		if _, uri := routed(s); uri != "" {
			t.Fatalf("offered to %s before the step that admits proficiency 4", uri)
		}
		time.Sleep(30 * time.Second)
		if _, uri := routed(s); uri != alice {
			t.Fatalf("after 30 s: %q, want alice", uri)
		}
	})
}

// After overflow.after, a group's visitor may go to the agents of the
// overflow group.
func TestRoute_OverflowOffersAVisitorToTheOtherGroupsAgents(t *testing.T) {
	cfg := testConfig()
	cfg.Groups[0].Overflow = &acd.Overflow{After: time.Minute, Group: "support"}
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		s.SetRegistered(context.Background(), bob, true) // support 5, billing 2
		enqueue(t, s, "v1", "billing")
		if _, uri := routed(s); uri != "" {
			t.Fatalf("offered to %s before the overflow", uri)
		}
		time.Sleep(time.Minute)
		if _, uri := routed(s); uri != bob {
			t.Fatalf("after the overflow: %q, want bob", uri)
		}
	})
}

// Longest idle counts from the end of the agent's last call, wrap-up
// included; a re-REGISTER or a presence change does not restart it.
func TestRoute_LongestIdleCountsFromTheLastCall(t *testing.T) {
	cfg := testConfig()
	cfg.Agents[0].Skills["billing"] = 5 // alice as skilled as carol
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		ctx := context.Background()
		s.SetRegistered(ctx, carol, true)
		time.Sleep(time.Minute)
		s.SetRegistered(ctx, alice, true)
		s.SetPresence(ctx, carol, acd.PresenceAway) // carol steps out and back
		s.SetPresence(ctx, carol, acd.PresenceOpen)
		s.SetRegistered(ctx, carol, true) // and re-registers
		it := enqueue(t, s, "v1", "billing")
		if _, uri := routed(s); uri != carol {
			t.Fatalf("routed to %q, want carol, idle since before alice signed in", uri)
		}
		s.Offer(ctx, carol, it)
		s.Answered(ctx, carol)
		s.Leave("billing", "v1", time.Now(), false)
		s.Ended(ctx, carol, "billing", time.Minute)
		time.Sleep(30 * time.Second) // carol's wrap-up
		synctest.Wait()
		enqueue(t, s, "v2", "billing")
		if _, uri := routed(s); uri != alice {
			t.Errorf("routed to %q, want alice, idle since before carol's call ended", uri)
		}
		time.Sleep(time.Second) // the wrap-up's end is being stored
	})
}

// The agent's own away choice is stored whatever its state (reserved,
// busy, in wrap-up, offline) and survives a restart.
func TestAgent_AwayChosenInAnyStateSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		into func(s *acd.Service)
	}{
		{"reserved", func(s *acd.Service) { s.Offer(ctx, alice, &acd.Item{ID: "v"}) }},
		{"busy", func(s *acd.Service) { s.Offer(ctx, alice, &acd.Item{ID: "v"}); s.Answered(ctx, alice) }},
		{"wrap-up", func(s *acd.Service) {
			s.Offer(ctx, alice, &acd.Item{ID: "v"})
			s.Answered(ctx, alice)
			s.Ended(ctx, alice, "billing", time.Minute)
		}},
		{"offline", func(s *acd.Service) { s.SetRegistered(ctx, alice, false) }},
	} {
		synctest.Test(t, func(t *testing.T) {
			s, db := newService(t, testConfig())
			s.SetRegistered(ctx, alice, true)
			tc.into(s)
			s.SetAway(ctx, alice, true, "")
			again, err := acd.New(testConfig(), nil, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if err := again.Load(ctx); err != nil {
				t.Fatal(err)
			}
			again.SetRegistered(ctx, alice, true)
			if got := state(t, again, alice); got != acd.StateAway {
				t.Errorf("away chosen while %s: %s after a restart", tc.name, got)
			}
			time.Sleep(time.Hour) // past any wrap-up, stored
		})
	}
}

// Asking to be available with the phone unregistered is refused, saying
// why; the choice is kept for when the phone registers.
func TestAgent_AvailableWhileOfflineIsRefused(t *testing.T) {
	s, _ := newService(t, testConfig())
	ctx := context.Background()
	s.SetAway(ctx, alice, true, "")
	if err := s.SetAway(ctx, alice, false, ""); !errors.Is(err, acd.ErrOffline) {
		t.Fatalf("available while offline: %v, want ErrOffline", err)
	}
	s.SetRegistered(ctx, alice, true)
	if got := state(t, s, alice); got != acd.StateAvailable {
		t.Fatalf("once registered: %s", got)
	}
}

// A wrap-up the agent ends early teaches the handle time it took, not the
// configured one: the estimate after an early end is shorter.
func TestEnded_EarlyWrapUpIsLearntAsTaken(t *testing.T) {
	cfg := testConfig()
	cfg.WrapUp = 2 * time.Minute
	cfg.Estimator.Weight = 1 // learn from one call
	ewt := func(early bool) time.Duration {
		var got time.Duration
		synctest.Test(t, func(t *testing.T) {
			s, _ := newService(t, cfg)
			ctx := context.Background()
			s.SetRegistered(ctx, alice, true)
			s.Offer(ctx, alice, &acd.Item{ID: "v"})
			s.Answered(ctx, alice)
			s.Ended(ctx, alice, "billing", time.Minute)
			if early {
				time.Sleep(10 * time.Second)
				s.SetAway(ctx, alice, false, "")
			} else {
				time.Sleep(2 * time.Minute)
				synctest.Wait()
			}
			s.Offer(ctx, alice, &acd.Item{ID: "w"})
			s.Answered(ctx, alice)
			enqueue(t, s, "q", "billing")
			got = s.Status(time.Now())[0].EWT
			time.Sleep(time.Hour) // past any wrap-up, stored
		})
		return got
	}
	early, full := ewt(true), ewt(false)
	if early <= 0 || early >= full {
		t.Fatalf("estimate after a 10 s wrap-up %s, after a full one %s: want shorter", early, full)
	}
}

// A customer of a higher service tier (acd.tiers, from the token the
// site signed) goes before visitors who came earlier, within a group.
func TestRoute_HigherTierGoesFirst(t *testing.T) {
	cfg := testConfig()
	cfg.Tiers = map[string]int{"gold": 10}
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		s.SetRegistered(context.Background(), alice, true)
		enqueue(t, s, "plain", "billing")
		time.Sleep(time.Second)
		gold := s.NewItem("gold", "billing", "", s.TierPriority("gold"), time.Now())
		if pos, _ := s.Enqueue(gold); pos != 1 {
			t.Fatalf("gold customer at position %d, want 1", pos)
		}
		if id, _ := routed(s); id != "gold" {
			t.Fatalf("routed %s first, want the gold customer", id)
		}
		if p := s.TierPriority("unknown"); p != 0 {
			t.Fatalf("an unlisted tier has priority %d", p)
		}
	})
}

// A visitor of a group that shares its agents with a group of higher
// priority waits for that group's visitors too: its estimate counts them.
func TestWaiting_CountsTheVisitorsOfAHigherGroupSharingTheAgents(t *testing.T) {
	cfg := testConfig()
	cfg.Agents = append(cfg.Agents, acd.AgentConfig{URI: dave, Skills: map[string]int{"billing": 4, "support": 4}})
	cfg.Groups[1].Priority = 1 // support first
	cfg.Groups[0].QueueLimit = 0
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		ctx := context.Background()
		s.SetRegistered(ctx, dave, true)
		s.Offer(ctx, dave, &acd.Item{ID: "x"})
		s.Answered(ctx, dave) // the only agent, on a call
		enqueue(t, s, "b1", "billing")
		_, alone := s.Waiting("billing", "b1", time.Now())
		for _, id := range []string{"s1", "s2", "s3"} {
			enqueue(t, s, id, "support")
		}
		pos, shared := s.Waiting("billing", "b1", time.Now())
		if pos != 1 || shared <= alone {
			t.Fatalf("billing's first visitor: position %d, wait %s with three support visitors first, %s without", pos, shared, alone)
		}
		if st := s.Status(time.Now())[0]; st.EWT <= shared {
			t.Fatalf("a newcomer to billing: %s, want more than the first visitor's %s", st.EWT, shared)
		}
	})
}

// A group of lower priority is served by shared agents only with the time
// the traffic of the higher group leaves them: its wait grows with that
// traffic, the higher group's own does not, and the effect fades once the
// traffic stops (about a quarter of an hour of memory).
func TestWaiting_SharedAgentsCountForTheTimeAHigherGroupLeavesThem(t *testing.T) {
	cfg := testConfig()
	cfg.Agents = []acd.AgentConfig{{URI: dave, Skills: map[string]int{"billing": 4, "support": 4}}}
	for _, uri := range []string{"sip:erin@example.com", "sip:frank@example.com", "sip:grace@example.com"} {
		cfg.Agents = append(cfg.Agents, acd.AgentConfig{URI: uri, Skills: map[string]int{"billing": 4, "support": 4}})
	}
	cfg.Groups[1].Priority = 1 // support first
	cfg.Groups[0].QueueLimit = 0
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		ctx := context.Background()
		for _, a := range cfg.Agents {
			s.SetRegistered(ctx, a.URI, true)
			s.Offer(ctx, a.URI, &acd.Item{ID: "x" + a.URI, Group: "billing"})
			s.Answered(ctx, a.URI) // every agent on a call
		}
		enqueue(t, s, "b1", "billing")
		before := s.Status(time.Now())
		// Ten support visitors in ten minutes, each answered at once.
		for i := range 10 {
			time.Sleep(time.Minute)
			id := fmt.Sprint("s", i)
			enqueue(t, s, id, "support")
			s.Leave("support", id, time.Now(), false)
		}
		during := s.Status(time.Now())
		if during[0].EWT <= before[0].EWT {
			t.Errorf("billing's wait %s with support's traffic on the shared agents, %s without", during[0].EWT, before[0].EWT)
		}
		if during[1].EWT != before[1].EWT {
			t.Errorf("support's wait moved from %s to %s with its own traffic", before[1].EWT, during[1].EWT)
		}
		time.Sleep(2 * time.Hour)
		if after := s.Status(time.Now()); after[0].EWT != before[0].EWT {
			t.Errorf("billing's wait %s two hours after support's traffic stopped, %s before it", after[0].EWT, before[0].EWT)
		}
	})
}
