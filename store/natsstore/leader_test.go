package natsstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/natstest"
)

// One of two candidates wins the leader lease and the other names it;
// once the leader's process dies (its connection cut, nothing released),
// the other wins within the lease's TTL and a poll.
func TestElection_OneLeaderThenTheStandbyOnceItDies(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := openFast(t, url, "a"), openFast(t, url, "b")
	ea, eb := a.Election(LeaderACD, "127.0.0.1:1"), b.Election(LeaderACD, "127.0.0.1:2")

	lease, err := ea.Win(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	holding, stop := context.WithCancel(t.Context())
	defer stop()
	held := make(chan error, 1)
	go func() { held <- lease.Hold(holding) }()

	won := make(chan error, 1)
	go func() {
		l, err := eb.Win(t.Context())
		if err == nil {
			err = l.Hold(t.Context())
		}
		won <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for l, ok := eb.Leader(); !ok || l.Node != "a" || l.HTTP != "127.0.0.1:1"; l, ok = eb.Leader() {
		if time.Now().After(deadline) {
			t.Fatalf("the standby names %+v (known %v), want node a at 127.0.0.1:1", l, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-won:
		t.Fatalf("the standby won while the leader held the lease: %v", err)
	default:
	}

	a.crash()
	if err := <-held; !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the cut-off leader's Hold returned %v, want ErrLeaseLost", err)
	}
	for l, ok := eb.Leader(); !ok || l.Node != "b"; l, ok = eb.Leader() {
		select {
		case err := <-won:
			t.Fatalf("the standby's lease ended: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("the standby never won; it names %+v", l)
		}
	}
}
