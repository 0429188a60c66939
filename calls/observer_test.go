package calls_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/calls"
)

// observer keeps what a Manager tells it.
type observer struct {
	mu           sync.Mutex
	rang, talked []time.Duration
}

func (o *observer) Rang(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rang = append(o.rang, d)
}

func (o *observer) Talked(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.talked = append(o.talked, d)
}

// The observer hears the ring time of the answered offer only (a missed
// one is not a ring time), and the talk time once the call ends; Stats
// counts the call by its reason.
func TestManager_ObserverHearsRingAndTalkTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newACD(t)
		ctx := context.Background()
		a.SetRegistered(ctx, alice, true)
		a.SetRegistered(ctx, carol, true)
		p := &phones{scripts: map[string][]string{carol: {rejects}, alice: {late}}, legs: map[string]calls.LegHandler{}}
		obs := &observer{}
		m := calls.NewManager(calls.Config{RingTimeout: 20 * time.Second, KeepEnded: time.Minute},
			a, engine{}, p, obs, slog.New(slog.NewTextHandler(io.Discard, nil)))
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { m.Run(runCtx); close(ran) }()
		v, _, err := m.Place(calls.Request{Group: "billing", Offer: "v=0"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got, _, _ := m.Get(v.ID); got.State != calls.StateTalking {
			t.Fatalf("call %s, want talking", got.State)
		}
		time.Sleep(time.Minute)
		m.Hangup(v.ID)
		time.Sleep(time.Second)
		synctest.Wait()

		obs.mu.Lock()
		if !slices.Equal(obs.rang, []time.Duration{3 * time.Second}) {
			t.Errorf("ring times %v, want [3s] (carol's refusal is no ring time)", obs.rang)
		}
		if len(obs.talked) != 1 || obs.talked[0] < time.Minute || obs.talked[0] > time.Minute+10*time.Second {
			t.Errorf("talk times %v, want one of about 67s", obs.talked)
		}
		obs.mu.Unlock()
		if n := m.Stats().Ended[calls.ReasonVisitorHangup]; n != 1 {
			t.Errorf("%d calls ended by the visitor, want 1", n)
		}
		stop()
		<-ran
		time.Sleep(time.Hour)
	})
}
