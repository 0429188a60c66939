package calls_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
)

// transferSetup runs a manager whose phones play scripts, places a
// billing call and lets carol (the best skilled) answer it.
func transferSetup(t *testing.T, scripts map[string][]string) (*calls.Manager, *acd.Service, *phones, string) {
	t.Helper()
	a := newACD(t)
	ctx := context.Background()
	for uri := range scripts {
		a.SetRegistered(ctx, uri, true)
	}
	p := &phones{scripts: scripts, legs: map[string]calls.LegHandler{}}
	m := calls.NewManager(calls.Config{RingTimeout: 20 * time.Second, KeepEnded: time.Minute},
		a, engine{}, p, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { m.Run(runCtx); close(ran) }()
	t.Cleanup(func() {
		stop()
		<-ran
		time.Sleep(time.Hour) // past any wrap-up, stored
	})
	v, _, err := m.Place(calls.Request{Group: "billing", Offer: "v=0"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	synctest.Wait()
	if got, _, _ := m.Get(v.ID); got.State != calls.StateTalking || got.AgentURI != carol {
		t.Fatalf("call %s with %s, want talking with carol", got.State, got.AgentURI)
	}
	return m, a, p, v.ID
}

// Hold from the console shows in the call's view; the call goes on.
func TestTransfer_HoldAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, _, id := transferSetup(t, map[string][]string{carol: {answers}})
		ctx := context.Background()
		if err := m.Hold(ctx, alice, true); !errors.Is(err, calls.ErrNotTalking) {
			t.Errorf("hold by alice, who talks with nobody: %v", err)
		}
		for _, held := range []bool{true, false} {
			if err := m.Hold(ctx, carol, held); err != nil {
				t.Fatal(err)
			}
			if v, _, _ := m.Get(id); v.Held != held || v.State != calls.StateTalking {
				t.Errorf("after Hold(%v): %s held %v", held, v.State, v.Held)
			}
		}
	})
}

// A blind transfer to an available agent rings it with the same call;
// the first agent wraps up; an agent who cannot take it is refused with
// its state and the call goes on.
func TestTransfer_ToAnAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, a, p, id := transferSetup(t, map[string][]string{carol: {answers}, alice: {answers}})
		ctx := context.Background()
		a.SetAway(ctx, alice, true, "")
		var unavailable *acd.UnavailableError
		if err := m.Transfer(ctx, carol, calls.Target{Agent: alice}); !errors.As(err, &unavailable) || unavailable.State != acd.StateAway {
			t.Errorf("transfer to away alice: %v", err)
		}
		if err := m.Transfer(ctx, carol, calls.Target{Agent: "sip:nobody@example.com"}); !errors.Is(err, acd.ErrUnknownAgent) {
			t.Errorf("transfer to nobody: %v", err)
		}
		if err := m.Transfer(ctx, carol, calls.Target{}); !errors.Is(err, calls.ErrNoTarget) {
			t.Errorf("transfer to no target: %v", err)
		}
		a.SetAway(ctx, alice, false, "")
		if err := m.Transfer(ctx, carol, calls.Target{Agent: alice}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the agents' transitions are stored
		synctest.Wait()
		v, _, _ := m.Get(id)
		if v.State != calls.StateTalking || v.AgentURI != alice || v.ID != id {
			t.Errorf("after the transfer: %s with %s, want talking with alice", v.State, v.AgentURI)
		}
		if st, _ := a.Agent(carol); st.State != acd.StateWrapUp {
			t.Errorf("carol %s after transferring, want wrap-up", st.State)
		}
		if rung := p.calledInOrder(); !slices.Equal(rung, []string{carol, alice}) {
			t.Errorf("rung %v", rung)
		}
		if err := m.Transfer(ctx, carol, calls.Target{Agent: alice}); !errors.Is(err, calls.ErrNotTalking) {
			t.Errorf("carol transfers again: %v", err)
		}
	})
}

// A transferred call the target agent does not answer goes back to its
// group's queue, by its first arrival, and to the next agent free.
func TestTransfer_UnansweredGoesBackToTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, p, id := transferSetup(t, map[string][]string{carol: {answers}, alice: {ringsOut, answers}})
		ctx := context.Background()
		if err := m.Transfer(ctx, carol, calls.Target{Agent: alice}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the agents' transitions are stored
		synctest.Wait()
		if v, _, _ := m.Get(id); v.State != calls.StateRinging || v.AgentURI != alice {
			t.Errorf("during the transfer: %s with %s, want ringing alice", v.State, v.AgentURI)
		}
		time.Sleep(21 * time.Second) // alice rings out; carol wraps up for 30 s
		synctest.Wait()
		if v, _, _ := m.Get(id); v.State != calls.StateQueued || v.Position != 1 {
			t.Errorf("after alice missed it: %s at %d, want queued first", v.State, v.Position)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if v, _, _ := m.Get(id); v.State != calls.StateTalking {
			t.Errorf("a minute later: %s, want talking", v.State)
		}
		if rung := p.calledInOrder(); len(rung) < 3 {
			t.Errorf("rung %v", rung)
		}
	})
}

// A transfer to a group queues the call there, where the next agent
// takes it.
func TestTransfer_ToAGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, p, id := transferSetup(t, map[string][]string{carol: {answers}, alice: {answers}})
		ctx := context.Background()
		if err := m.Transfer(ctx, carol, calls.Target{Group: "sales"}); !errors.Is(err, acd.ErrUnknownGroup) {
			t.Errorf("transfer to an unknown group: %v", err)
		}
		if err := m.Transfer(ctx, carol, calls.Target{Group: "billing"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if v, _, _ := m.Get(id); v.State != calls.StateTalking || v.AgentURI != alice {
			t.Errorf("after the transfer: %s with %s, want talking with alice", v.State, v.AgentURI)
		}
		if rung := p.calledInOrder(); !slices.Equal(rung, []string{carol, alice}) {
			t.Errorf("rung %v", rung)
		}
	})
}
