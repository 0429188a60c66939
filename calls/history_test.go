package calls_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/calls"
)

// An agent's day: a call it took and hung up is in its history with the
// group, how long it lasted and how it ended; the next day starts empty.
func TestHistory_TodaysContactsForgottenTheNextDay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newACD(t)
		ctx := context.Background()
		a.SetRegistered(ctx, alice, true)
		p := &phones{scripts: map[string][]string{alice: {answers}}, legs: map[string]calls.LegHandler{}}
		m := calls.NewManager(calls.DefaultConfig(), a, engine{}, p, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { m.Run(runCtx); close(ran) }()
		defer func() { stop(); <-ran }()

		v, _, err := m.Place(calls.Request{Group: "billing", Offer: "v=0"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(90 * time.Second)
		p.mu.Lock()
		h := p.legs[alice]
		p.mu.Unlock()
		if h == nil {
			t.Fatal("alice did not answer")
		}
		h.HungUp()
		var day []calls.Handled
		for range 100 { // a goroutine waiting on a lock is not one synctest.Wait waits for
			if day = m.History(alice, time.Now()); len(day) > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if len(day) != 1 {
			got, _, _ := m.Get(v.ID)
			t.Fatalf("history %+v, want the one call; the call %+v", day, got)
		}
		if c := day[0]; c.Kind != "call" || c.ID != v.ID || c.Group != "billing" || c.Visitor != "Web visitor" ||
			c.Duration < 89*time.Second || c.Duration > 91*time.Second || c.Outcome != calls.ReasonAgentHangup {
			t.Errorf("history %+v", c)
		}
		if other := m.History(carol, time.Now()); len(other) != 0 {
			t.Errorf("carol's history %+v, want none", other)
		}
		time.Sleep(24 * time.Hour)
		if next := m.History(alice, time.Now()); len(next) != 0 {
			t.Errorf("the next day: %+v, want none", next)
		}
	})
}
