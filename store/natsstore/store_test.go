package natsstore_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store/natsstore"
)

func open(t *testing.T, url, node string) *natsstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, natsstore.Config{URLs: []string{url}, Replicas: 1, Node: node}, 0,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func publication(etag string, seq uint64) presence.Publication {
	return presence.Publication{Presentity: "sip:alice@example.com", Event: presence.EventPresence, ETag: etag,
		Expires: time.Now().Add(time.Hour).Round(0), ContentType: "application/pidf+xml", Body: []byte("<presence/>"), Seq: seq}
}

func loadPubs(t *testing.T, s *natsstore.Store) []presence.Publication {
	t.Helper()
	var got []presence.Publication
	if err := s.LoadPublications(ctx(t), func(p presence.Publication) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// Publications and subscriptions come back as stored; a replacement and
// a deletion remove theirs; a node loads its own subscriptions only.
func TestStore_RoundTrip(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := open(t, url, "node-a"), open(t, url, "node-b")
	c := ctx(t)
	p1, p2 := publication("etag-1", 1), publication("etag-2", 2)
	p2.Presentity = "sip:bob@example.com"
	for _, p := range []presence.Publication{p1, p2} {
		if err := a.PutPublication(c, p, ""); err != nil {
			t.Fatal(err)
		}
	}
	p3 := publication("etag-3", 3)
	if err := b.PutPublication(c, p3, "etag-1"); err != nil { // a refresh of p1 on another node
		t.Fatal(err)
	}
	got := loadPubs(t, b)
	slices.SortFunc(got, func(x, y presence.Publication) int { return int(x.Seq) - int(y.Seq) })
	if len(got) != 2 || !equalPub(got[0], p2) || !equalPub(got[1], p3) {
		t.Fatalf("loaded %+v, want bob's and the refreshed one", got)
	}
	if err := a.DeletePublication(c, p2.Presentity, p2.ETag); err != nil {
		t.Fatal(err)
	}
	if got := loadPubs(t, a); len(got) != 1 || got[0].ETag != "etag-3" {
		t.Fatalf("after delete: %+v", got)
	}

	sub := presence.Subscription{ID: "call-id;from-tag;to-tag", Presentity: p1.Presentity, Watcher: "sip:w@example.com",
		Expires: time.Now().Add(time.Hour).Round(0), SeqReserved: 7, Dialog: []byte{1, 2, 3}}
	if err := a.PutSubscription(c, sub); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSubscription(c, presence.Subscription{ID: "gone", Presentity: p1.Presentity}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteSubscription(c, "gone"); err != nil {
		t.Fatal(err)
	}
	for node, want := range map[*natsstore.Store]int{a: 1, b: 0} {
		var subs []presence.Subscription
		if err := node.LoadSubscriptions(c, func(s presence.Subscription) error { subs = append(subs, s); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(subs) != want || (want == 1 && (subs[0].ID != sub.ID || subs[0].SeqReserved != 7 || !subs[0].Expires.Equal(sub.Expires))) {
			t.Fatalf("loaded subscriptions %+v, want %d", subs, want)
		}
	}
}

func equalPub(x, y presence.Publication) bool {
	return x.Presentity == y.Presentity && x.Event == y.Event && x.ETag == y.ETag && x.Expires.Equal(y.Expires) &&
		x.ContentType == y.ContentType && string(x.Body) == string(y.Body) && x.Seq == y.Seq
}

// The watch reports what another connection writes, in order, and skips
// what its own store wrote.
func TestWatch_ReportsAnotherNodesChanges(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := open(t, url, "node-a"), open(t, url, "node-b")
	c := ctx(t)
	if err := a.PutPublication(c, publication("before", 1), ""); err != nil {
		t.Fatal(err)
	}
	loadPubs(t, b) // the watch starts where this left off
	changes, done := watch(t, b)

	if err := b.PutPublication(c, publication("own", 2), ""); err != nil {
		t.Fatal(err)
	}
	if err := a.PutPublication(c, publication("after", 3), "before"); err != nil {
		t.Fatal(err)
	}
	want := []presence.Change{{Publication: publication("after", 3)},
		{Publication: presence.Publication{Presentity: "sip:alice@example.com", ETag: "before"}, Removed: true}}
	for i, w := range want {
		select {
		case got := <-changes:
			if got.Removed != w.Removed || got.Publication.ETag != w.Publication.ETag || got.Publication.Presentity != w.Publication.Presentity {
				t.Fatalf("change %d: %+v, want %+v", i, got, w)
			}
		case err := <-done:
			t.Fatalf("watch ended: %v", err)
		case <-c.Done():
			t.Fatalf("change %d did not come", i)
		}
	}
	select {
	case got := <-changes:
		t.Fatalf("unexpected change %+v (the watching node's own write?)", got)
	default:
	}
}

// The server removes a publication when its TTL lapses, and watchers
// hear of it as a removal.
func TestWatch_ServerExpiresPublications(t *testing.T) {
	url := natstest.RunJetStream(t)
	a, b := open(t, url, "node-a"), open(t, url, "node-b")
	c := ctx(t)
	loadPubs(t, b)
	changes, _ := watch(t, b)
	p := publication("short", 1)
	p.Expires = time.Now().Add(time.Second)
	if err := a.PutPublication(c, p, ""); err != nil {
		t.Fatal(err)
	}
	for _, removed := range []bool{false, true} {
		select {
		case got := <-changes:
			if got.Removed != removed || got.Publication.ETag != "short" {
				t.Fatalf("got %+v, want removed=%v", got, removed)
			}
		case <-c.Done():
			t.Fatalf("no change with removed=%v", removed)
		}
	}
	if got := loadPubs(t, a); len(got) != 0 {
		t.Fatalf("expired publication still stored: %+v", got)
	}
}

// watch runs s.Watch until the test ends, and waits for it then.
func watch(t *testing.T, s *natsstore.Store) (<-chan presence.Change, <-chan error) {
	c, cancel := context.WithCancel(t.Context())
	changes := make(chan presence.Change, 10)
	done := make(chan error, 1)
	go func() { done <- s.Watch(c, func(ch presence.Change) { changes <- ch }) }()
	t.Cleanup(func() { cancel(); <-done })
	return changes, done
}

func TestConfig_ValidateNamesTheField(t *testing.T) {
	good := natsstore.Config{URLs: []string{"nats://127.0.0.1:4222"}, Replicas: 3, WriteTimeout: 5 * time.Second}
	for _, tc := range []struct {
		cfg  func(*natsstore.Config)
		want string
	}{
		{func(c *natsstore.Config) { c.URLs = nil }, "store.nats.urls"},
		{func(c *natsstore.Config) { c.URLs = []string{"http://x:1"} }, "store.nats.urls[0]"},
		{func(c *natsstore.Config) { c.Replicas = 6 }, "store.nats.replicas"},
		{func(c *natsstore.Config) { c.CertFile = "c.pem" }, "store.nats.cert_file"},
		{func(c *natsstore.Config) { c.WriteTimeout = time.Minute }, "store.nats.write_timeout"},
	} {
		c := good
		tc.cfg(&c)
		if err := c.Validate("store.nats"); err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("Validate = %v, want an error naming %s", err, tc.want)
		}
	}
	if err := good.Validate("store.nats"); err != nil {
		t.Fatal(err)
	}
}
