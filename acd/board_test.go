package acd_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// The supervisor's board: each agent's state, since when and why away;
// each queue's oldest wait, and today's served and abandoned visitors,
// counted afresh the next day.
func TestBoard_AgentsQueuesAndTodaysAbandonment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Supervisors = []acd.SupervisorConfig{{Name: "Sam", Token: "sam-supervisor-token"}}
		s, _ := newService(t, cfg)
		ctx := context.Background()
		start := time.Now()
		s.SetRegistered(ctx, alice, true)
		s.SetRegistered(ctx, bob, true)
		if err := s.SetAway(ctx, bob, true, ""); err != nil {
			t.Fatal(err)
		}
		s.SetRegistered(ctx, carol, true)
		s.SetPresence(ctx, carol, acd.PresenceAway)
		for _, id := range []string{"v1", "v2"} {
			if _, err := s.Enqueue(s.NewItem(id, "billing", "", 0, time.Now())); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(40 * time.Second)

		b := s.Board(time.Now())
		byURI := map[string]acd.AgentBoard{}
		for _, a := range b.Agents {
			byURI[a.URI] = a
		}
		for uri, want := range map[string][2]string{alice: {"available", ""}, bob: {"away", "manual"}, carol: {"away", "phone"}} {
			if a := byURI[uri]; a.State != want[0] || a.Away != want[1] || a.Since.Before(start) || a.Since.After(start.Add(time.Second)) {
				t.Errorf("%s: %s (%q) since %v, want %s (%q) since about %v", uri, a.State, a.Away, a.Since, want[0], want[1], start)
			}
		}
		if got := strings.Join(byURI[bob].Groups, ","); got != "support" {
			t.Errorf("bob serves %q, want support (billing 2 is below its minimum 3)", got)
		}
		billing := b.Groups[0]
		if billing.ID != "billing" || billing.QueueLength != 2 || billing.OldestWait != 40*time.Second {
			t.Errorf("billing: %s, %d waiting, oldest %v; want 2 waiting, oldest 40s", billing.ID, billing.QueueLength, billing.OldestWait)
		}

		s.Leave("billing", "v1", time.Now(), false)
		s.Leave("billing", "v2", time.Now(), true)
		if g := s.Board(time.Now()).Groups[0]; g.Served != 1 || g.Abandoned != 1 || g.OldestWait != 0 {
			t.Errorf("after one served and one abandoned: %d served, %d abandoned, oldest %v", g.Served, g.Abandoned, g.OldestWait)
		}
		time.Sleep(24 * time.Hour)
		if g := s.Board(time.Now()).Groups[0]; g.Served != 0 || g.Abandoned != 0 {
			t.Errorf("the next day: %d served, %d abandoned, want a fresh count", g.Served, g.Abandoned)
		}
		if g := s.Board(time.Now()).Groups[0]; g.ServedTotal != 1 || g.AbandonedTotal != 1 {
			t.Errorf("the next day: %d served, %d abandoned since start, want 1 and 1", g.ServedTotal, g.AbandonedTotal)
		}

		if name, ok := s.SupervisorByToken("sam-supervisor-token"); !ok || name != "Sam" {
			t.Errorf("SupervisorByToken: %q %v", name, ok)
		}
		if _, ok := s.SupervisorByToken(""); ok {
			t.Error("an empty token names a supervisor")
		}
	})
}

func TestConfig_SupervisorsNeedANameAndTheirOwnToken(t *testing.T) {
	for _, tc := range []struct {
		sv   acd.SupervisorConfig
		want string
	}{
		{acd.SupervisorConfig{Token: "sam-supervisor-token"}, "acd.supervisors[0].name"},
		{acd.SupervisorConfig{Name: "Sam", Token: "short"}, "acd.supervisors[0].token: must have at least 16"},
		{acd.SupervisorConfig{Name: "Sam", Token: "alice-agent-token"}, "acd.supervisors[0].token: the same token"},
	} {
		cfg := testConfig()
		cfg.Agents[0].Token = "alice-agent-token"
		cfg.Supervisors = []acd.SupervisorConfig{tc.sv}
		if err := cfg.Validate("acd"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.sv, err, tc.want)
		}
	}
}
