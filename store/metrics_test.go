package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/calls"
)

// Concurrent writes share commits: the batch sizes observed add up to the
// writes, in fewer commits than writes, each commit and write timed.
func TestMetrics_GroupCommitObserved(t *testing.T) {
	db, err := Open(Config{Path: filepath.Join(t.TempDir(), "sb.db"), BatchDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(db.Collectors()...)
	const writes = 20
	var wg sync.WaitGroup
	for i := range writes {
		wg.Go(func() {
			if err := db.SaveCallback(context.Background(), calls.Callback{ID: fmt.Sprint("cb", i), State: calls.CallbackQueued}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	h := map[string][2]float64{} // name -> sample count, sum
	for _, f := range families {
		m := f.GetMetric()[0].GetHistogram()
		h[f.GetName()] = [2]float64{float64(m.GetSampleCount()), m.GetSampleSum()}
	}
	commits, size := h["switchboard_store_batch_size"][0], h["switchboard_store_batch_size"][1]
	if size != writes || commits < 1 || commits >= writes {
		t.Errorf("%v writes in %v commits, want %d writes in fewer commits", size, commits, writes)
	}
	if got := h["switchboard_store_commit_duration_seconds"][0]; got != commits {
		t.Errorf("%v commits timed, want %v", got, commits)
	}
	if got := h["switchboard_store_write_duration_seconds"][0]; got != writes {
		t.Errorf("%v writes timed, want %d", got, writes)
	}
}
