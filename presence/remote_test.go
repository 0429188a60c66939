package presence_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// A publication another node stored reaches this node's watchers through
// Apply, once: applying it again, or removing one not held, sends nothing.
func TestApply_RemotePublicationNotifiesLocalWatchers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := presence.DefaultConfig()
		cfg.MinNotifyInterval = 0
		f := newFixture(t, cfg)
		defer f.close()
		f.subscribe("w1", time.Hour)
		synctest.Wait()
		remote := presence.Publication{Presentity: alice, Event: presence.EventPresence, ETag: "remote-1",
			Expires: time.Now().Add(time.Hour), ContentType: "application/pidf+xml", Body: doc("open"), Seq: 41}
		f.svc.Apply(presence.Change{Publication: remote})
		f.svc.Apply(presence.Change{Publication: remote})
		f.svc.Apply(presence.Change{Publication: presence.Publication{Presentity: alice, ETag: "unknown"}, Removed: true})
		synctest.Wait()
		got := f.rec.all()
		if len(got) != 2 || !strings.Contains(string(got[1].Body), "open") {
			t.Fatalf("got %d notifications, want the initial one and one open", len(got))
		}
		// A publication made here afterwards is newer than the remote one.
		if p := f.publish("", doc("closed"), time.Hour); p.Seq <= remote.Seq {
			t.Fatalf("local Seq %d after a remote %d", p.Seq, remote.Seq)
		}
		synctest.Wait()
		if got = f.rec.all(); len(got) != 3 || !strings.Contains(string(got[2].Body), "closed") {
			t.Fatalf("got %d notifications, want the local closed one to win the tuple", len(got))
		}
		// Its removal leaves the newer local tuple: no notification.
		f.svc.Apply(presence.Change{Publication: presence.Publication{Presentity: alice, ETag: "remote-1"}, Removed: true})
		synctest.Wait()
		if got = f.rec.all(); len(got) != 3 {
			t.Fatalf("got %d notifications after removing the older remote publication, want 3", len(got))
		}
		if d, ok := f.svc.Document(alice); !ok || !strings.Contains(string(d), "closed") {
			t.Fatalf("document after removal: %s", d)
		}
	})
}

// expiring is a store that removes lapsed publications itself.
type expiring struct {
	*store.DB
	deletes atomic.Int32
}

func (e *expiring) ExpiresPublications() bool { return true }

func (e *expiring) DeletePublication(ctx context.Context, presentity, etag string) error {
	e.deletes.Add(1)
	return e.DB.DeletePublication(ctx, presentity, etag)
}

// With a store that expires publications by itself, a lapsed publication
// leaves the composition and the watchers hear of it, and the service
// does not delete it from the store: only one mechanism does.
func TestExpiry_StoreThatExpiresIsNotAskedToDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "p.db")})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		st := &expiring{DB: db}
		cfg := presence.DefaultConfig()
		cfg.MinNotifyInterval = 0
		rec := &recorder{}
		svc := presence.New(cfg, st, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer svc.Close()
		if err := svc.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Publish(t.Context(), presence.PublishRequest{Presentity: alice, Expires: dur(time.Minute),
			ContentType: "application/pidf+xml", Body: doc("open")}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		if _, ok := svc.Document(alice); ok {
			t.Fatal("publication outlived its expiry")
		}
		if n := st.deletes.Load(); n != 0 {
			t.Fatalf("the service deleted %d lapsed publications from a store that expires them", n)
		}
	})
}
