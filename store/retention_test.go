package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
)

// Transitions older than the cutoff and callbacks that ended before it
// go; recent transitions, agents' last states, pending callbacks (however
// old) and recently ended ones stay.
func TestRetention_PrunesOldTransitionsAndFinishedCallbacks(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cutoff := now.Add(-90 * 24 * time.Hour)
	old, recent := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	for _, at := range []time.Time{old.Add(-time.Minute), old, recent} {
		for _, agent := range []string{"sip:alice@example.com", "sip:bob@example.com"} {
			if err := db.SaveTransition(ctx, acd.Transition{Agent: agent, ToName: "away", At: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// carol's only state is old: it stays whatever its age.
	if err := db.SaveTransition(ctx, acd.Transition{Agent: "sip:carol@example.com", ToName: "away", At: old}); err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, cb := range []struct {
		id      string
		state   calls.CallbackState
		updated time.Time
		kept    bool
	}{
		{"done-old", calls.CallbackDone, old, false},
		{"failed-old", calls.CallbackFailed, old, false},
		{"cancelled-old", calls.CallbackCancelled, old, false},
		{"done-recent", calls.CallbackDone, recent, true},
		{"queued-old", calls.CallbackQueued, old, true},
		{"taken-old", calls.CallbackTaken, old, true},
	} {
		if err := db.SaveCallback(ctx, calls.Callback{ID: cb.id, State: cb.state, Updated: cb.updated}); err != nil {
			t.Fatal(err)
		}
		keep[cb.id] = cb.kept
	}

	p, err := db.Prune(ctx, cutoff, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if p.Transitions != 5 || p.Callbacks != 3 {
		t.Fatalf("pruned %+v, want 5 transitions and 3 callbacks", p)
	}
	info := countKeys(t, db)
	if info["agent_transitions"] != 2 || info["agent_states"] != 3 {
		t.Fatalf("left: %v", info)
	}
	db.LoadCallbacks(ctx, func(cb calls.Callback) error {
		if !keep[cb.ID] {
			t.Errorf("callback %s kept", cb.ID)
		}
		delete(keep, cb.ID)
		return nil
	})
	for id, kept := range keep {
		if kept {
			t.Errorf("callback %s pruned", id)
		}
	}
	if p, err := db.Prune(ctx, cutoff, 1000); err != nil || p != (Pruned{}) {
		t.Fatalf("second prune: %+v, %v", p, err)
	}
}

// Pruning stops at its limit, and crosses transaction batches.
func TestRetention_BoundedPerRun(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = pruneBatch + 500
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- db.SaveTransition(ctx, acd.Transition{Agent: fmt.Sprintf("sip:a%d@example.com", i%7), At: base.Add(time.Duration(i) * time.Second)})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cutoff := base.Add(time.Duration(n) * time.Second)
	p, err := db.Prune(ctx, cutoff, pruneBatch+100)
	if err != nil || p.Transitions != pruneBatch+100 {
		t.Fatalf("first run: %+v, %v", p, err)
	}
	p, err = db.Prune(ctx, cutoff, pruneBatch+100)
	if err != nil || p.Transitions != 400 {
		t.Fatalf("second run: %+v, %v", p, err)
	}
	if left := countKeys(t, db)["agent_transitions"]; left != 0 {
		t.Fatalf("%d transitions left", left)
	}
}

func countKeys(t *testing.T, db *DB) map[string]int {
	t.Helper()
	info := map[string]int{}
	for _, name := range buckets {
		n := 0
		eachDecoded(db, name, func(v []byte) ([]byte, error) { return v, nil }, func([]byte) error { n++; return nil })
		info[string(name)] = n
	}
	return info
}
