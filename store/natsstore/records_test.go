package natsstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/location"
)

// Bindings written by one node reach another's watch, in order, a
// removal as none; what one node stored, another loads.
func TestRecords_SharedByNodes(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := open(t, url, "node-a"), open(t, url, "node-b")
	c := ctx(t)
	const aor = "sip:alice@example.com"
	bind := location.Binding{AOR: aor, Contact: "sip:alice@192.0.2.1:5060", Expires: time.Now().Add(time.Hour).Round(0), CallID: "c", CSeq: 1}
	if err := b.LoadBindings(c, func(location.Binding) error { return nil }); err != nil {
		t.Fatal(err)
	}
	type change struct {
		aor string
		n   int
	}
	seen := make(chan change, 4)
	go b.WatchBindings(c, func(aor string, bs []location.Binding) { seen <- change{aor, len(bs)} })
	// Each change is awaited before the next: a watch that starts late
	// sees the last value of each key only (History 1).
	for _, bs := range [][]location.Binding{{bind}, nil} {
		if err := a.PutBindings(c, aor, bs); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-seen:
			if want := (change{aor, len(bs)}); got != want {
				t.Fatalf("node b's watch saw %+v, want %+v", got, want)
			}
		case <-c.Done():
			t.Fatalf("node b's watch never saw %d bindings", len(bs))
		}
	}
	if err := a.PutBindings(c, aor, []location.Binding{bind}); err != nil {
		t.Fatal(err)
	}
	var loaded []location.Binding
	if err := b.LoadBindings(c, func(b location.Binding) error { loaded = append(loaded, b); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || !loaded[0].Expires.Equal(bind.Expires) || loaded[0].Contact != bind.Contact {
		t.Fatalf("node b loaded %+v", loaded)
	}

	tr := acd.Transition{Agent: aor, FromName: "available", ToName: "away", At: time.Now().Round(0), ManualAway: true, Reason: "lunch"}
	if err := a.SaveTransition(c, tr); err != nil {
		t.Fatal(err)
	}
	var states []acd.Transition
	if err := b.LoadAgentStates(c, func(t acd.Transition) error { states = append(states, t); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || !states[0].ManualAway || states[0].Reason != "lunch" {
		t.Fatalf("node b loaded agent states %+v", states)
	}

	cb := calls.Callback{ID: "cb1", Group: "billing", Phone: "+33612345678", State: calls.CallbackQueued, Enqueued: time.Now().Round(0)}
	if err := a.SaveCallback(c, cb); err != nil {
		t.Fatal(err)
	}
	cb.State = calls.CallbackCalling
	if err := a.SaveCallback(c, cb); err != nil {
		t.Fatal(err)
	}
	var cbs []calls.Callback
	if err := b.LoadCallbacks(c, func(cb calls.Callback) error { cbs = append(cbs, cb); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(cbs, []calls.Callback{cb}, func(x, y calls.Callback) bool {
		return x.ID == y.ID && x.State == y.State && x.Phone == y.Phone
	}) {
		t.Fatalf("node b loaded callbacks %+v", cbs)
	}
}
