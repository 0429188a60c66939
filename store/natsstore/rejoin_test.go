package natsstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/presence"
)

func openFast(t testing.TB, url, node string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{URLs: []string{url}, Replicas: 1, Node: node}, MinTakeover,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runTakeover runs s.Takeover until the test ends; its result comes on
// the channel returned.
func runTakeover(t *testing.T, s *Store, adopt func(presence.Subscription) bool) <-chan error {
	ctx, cancel := context.WithCancel(t.Context())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() { defer close(finished); done <- s.Takeover(ctx, adopt) }()
	t.Cleanup(func() { cancel(); <-finished })
	return done
}

// waitLease waits until the lease key of s exists again, or fails.
func waitLease(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.nodes.Get(t.Context(), leasePrefix+s.owner); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A process whose lease lapsed while it lived (it was cut off from NATS,
// or NATS had no leader for a while) claims itself back before the
// others take it over: it keeps its subscriptions, nobody adopts them.
func TestRejoin_ALapsedLeaseIsTakenBackBeforeOthersClaimIt(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := openFast(t, url, "a"), openFast(t, url, "b")
	sub := presence.Subscription{ID: "x", Presentity: "sip:alice@example.com", Expires: time.Now().Add(time.Hour)}
	if err := a.PutSubscription(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	aDone := runTakeover(t, a, func(presence.Subscription) bool { return true })
	runTakeover(t, b, func(s presence.Subscription) bool { t.Errorf("b adopted %s", s.ID); return true })

	if err := b.nodes.Purge(t.Context(), leasePrefix+a.owner); err != nil { // as the server does when it lapses
		t.Fatal(err)
	}
	waitLease(t, a)
	// b has looked twice since: a is live again, nothing was claimed.
	deadline := time.Now().Add(10 * time.Second)
	for st := b.Stats(); st.Members != 2 || st.Orphans != 0; st = b.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("b sees %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-aDone:
		t.Fatalf("a stopped: %v", err)
	default:
	}
	var own []presence.Subscription
	if err := a.LoadSubscriptions(t.Context(), func(s presence.Subscription) error { own = append(own, s); return nil }); err != nil || len(own) != 1 {
		t.Fatalf("a's subscriptions after rejoining: %v %v", own, err)
	}
}

// A process that finds its lease gone and its subscriptions claimed by
// another stops serving them: Takeover returns ErrLeaseLost.
func TestRejoin_ClaimedByAnotherStops(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := openFast(t, url, "a"), openFast(t, url, "b")
	aDone := runTakeover(t, a, func(presence.Subscription) bool { return true })
	if _, err := b.nodes.Create(t.Context(), claimPrefix+a.owner, b.selfValue(), jetstream.KeyTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.nodes.Purge(t.Context(), leasePrefix+a.owner); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-aDone:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("a's Takeover ended with %v, want ErrLeaseLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a goes on serving subscriptions another process claimed")
	}
}
