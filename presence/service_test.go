package presence_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

const alice = "sip:alice@example.com"

// recorder is a Notifier that keeps what it is asked to deliver.
type recorder struct {
	mu   sync.Mutex
	got  []presence.Notification
	fail error
}

func (r *recorder) Notify(_ context.Context, n presence.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return r.fail
}

func (r *recorder) all() []presence.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]presence.Notification(nil), r.got...)
}

type fixture struct {
	t    *testing.T
	path string
	db   *store.DB
	svc  *presence.Service
	rec  *recorder
	cfg  presence.Config
}

func newFixture(t *testing.T, cfg presence.Config) *fixture {
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "p.db"), rec: &recorder{}, cfg: cfg}
	f.open()
	return f
}

func (f *fixture) open() {
	db, err := store.Open(store.Config{Path: f.path, BatchDelay: time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	f.db = db
	f.svc = presence.New(f.cfg, db, f.rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := f.svc.Load(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) close() {
	f.svc.Close()
	f.db.Close()
}

func doc(basic string) []byte {
	return []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + alice + `"><tuple id="t1"><status><basic>` + basic + `</basic></status></tuple></presence>`)
}

func dur(d time.Duration) *time.Duration { return &d }

func (f *fixture) publish(ifMatch string, body []byte, expires time.Duration) presence.Publication {
	f.t.Helper()
	p, err := f.svc.Publish(context.Background(), presence.PublishRequest{
		Presentity: alice, IfMatch: ifMatch, Expires: dur(expires), ContentType: "application/pidf+xml", Body: body})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) subscribe(id string, expires time.Duration) {
	f.t.Helper()
	if _, _, err := f.svc.Subscribe(context.Background(), presence.SubscribeRequest{
		ID: id, Presentity: alice, Watcher: "sip:bob@example.com", Expires: dur(expires)}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.Flush(id); err != nil {
		f.t.Fatal(err)
	}
}

func TestNotify_RapidChangesCoalesceAndEndOnLatest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := presence.DefaultConfig()
		cfg.MinNotifyInterval = time.Second
		f := newFixture(t, cfg)
		defer f.close()
		f.subscribe("w1", time.Hour)
		synctest.Wait()
		p := f.publish("", doc("open"), time.Hour)
		for i := range 5 {
			p = f.publish(p.ETag, doc([]string{"closed", "open"}[i%2]), time.Hour)
		}
		synctest.Wait()
		if n := len(f.rec.all()); n != 1 {
			t.Fatalf("%d notifications before the interval passed, want only the initial one", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got := f.rec.all()
		if len(got) != 2 {
			t.Fatalf("%d notifications after one interval, want 2", len(got))
		}
		if !strings.Contains(string(got[1].Body), "<basic>closed</basic>") {
			t.Fatalf("last notification is not the latest state:\n%s", got[1].Body)
		}
		if got[1].Seq != got[0].Seq+1 {
			t.Fatalf("sequence %d then %d", got[0].Seq, got[1].Seq)
		}
	})
}

func TestExpiry_PublicationLapsesAndWatcherSeesClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := presence.DefaultConfig()
		cfg.MinNotifyInterval = 0
		f := newFixture(t, cfg)
		defer f.close()
		f.publish("", doc("open"), time.Minute)
		f.subscribe("w1", time.Hour)
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		got := f.rec.all()
		if len(got) != 2 || !strings.Contains(string(got[1].Body), "closed") {
			t.Fatalf("got %d notifications, last %q", len(got), got[len(got)-1].Body)
		}
		if _, ok := f.svc.Document(alice); ok {
			t.Fatal("publication outlived its expiry")
		}
	})
}

func TestExpiry_SubscriptionEndsWithTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, presence.DefaultConfig())
		defer f.close()
		f.subscribe("w1", time.Minute)
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		got := f.rec.all()
		last := got[len(got)-1]
		if last.State != presence.StateTerminated || last.Reason != presence.ReasonTimeout {
			t.Fatalf("last notification %v %q, want terminated timeout", last.State, last.Reason)
		}
		if f.svc.Stats().Subscriptions != 0 {
			t.Fatal("subscription kept after expiry")
		}
	})
}

// A refreshed publication and subscription outlive their first expiry
// (the lapse scheduled for it finds them refreshed and does nothing),
// then lapse at the refreshed one.
func TestExpiry_RefreshedOutliveTheirFirstExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := presence.DefaultConfig()
		cfg.MinNotifyInterval = 0
		f := newFixture(t, cfg)
		defer f.close()
		p := f.publish("", doc("open"), time.Minute)
		f.subscribe("w1", time.Minute)
		time.Sleep(30 * time.Second)
		f.publish(p.ETag, nil, 2*time.Minute)
		if _, err := f.svc.Refresh(context.Background(), "w1", dur(2*time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if _, ok := f.svc.Document(alice); !ok {
			t.Fatal("a refreshed publication lapsed at its first expiry")
		}
		if _, ok := f.svc.Subscription("w1"); !ok {
			t.Fatal("a refreshed subscription lapsed at its first expiry")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if _, ok := f.svc.Document(alice); ok {
			t.Fatal("publication outlived its refreshed expiry")
		}
		if f.svc.Stats().Subscriptions != 0 {
			t.Fatal("subscription outlived its refreshed expiry")
		}
	})
}

func TestReload_SequenceNeverGoesBackAndExpiryKept(t *testing.T) {
	cfg := presence.DefaultConfig()
	cfg.MinNotifyInterval = 0
	f := newFixture(t, cfg)
	f.subscribe("w1", time.Hour)
	pub := f.publish("", doc("open"), time.Hour)
	waitN(t, f.rec, 2)
	before := f.rec.all()[1].Seq
	f.close()

	f.rec = &recorder{}
	f.open()
	defer f.close()
	f.publish(pub.ETag, doc("closed"), time.Hour)
	waitN(t, f.rec, 1)
	after := f.rec.all()[0]
	if after.Seq <= before {
		t.Fatalf("sequence went from %d to %d across the reload", before, after.Seq)
	}
	if after.Expires < 59*time.Minute {
		t.Fatalf("remaining expiry %s after reload", after.Expires)
	}
}

func TestNotify_GoneWatcherIsDropped(t *testing.T) {
	f := newFixture(t, presence.DefaultConfig())
	defer f.close()
	f.rec.fail = presence.ErrSubscriptionGone
	f.subscribe("w1", time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for f.svc.Stats().Subscriptions != 0 {
		if time.Now().After(deadline) {
			t.Fatal("gone subscription kept")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.close()
	f.open()
	if n := f.svc.Stats().Subscriptions; n != 0 {
		t.Fatalf("gone subscription came back after reload: %d", n)
	}
}

func TestPublish_TwoDevicesCompose(t *testing.T) {
	f := newFixture(t, presence.DefaultConfig())
	defer f.close()
	f.publish("", doc("open"), time.Hour)
	phone := strings.Replace(string(doc("closed")), `id="t1"`, `id="t2"`, 1)
	f.publish("", []byte(phone), time.Hour)
	got, _ := f.svc.Document(alice)
	if !strings.Contains(string(got), `id="t1"`) || !strings.Contains(string(got), `id="t2"`) {
		t.Fatalf("composition lost a device:\n%s", got)
	}
}

func waitN(t *testing.T, r *recorder, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d notifications", n), func() bool { return len(r.all()) >= n })
}

// The dialog event package beside presence: its publications and watchers
// are the resource's own, its notifications carry dialog-info whose
// version counts them from 0, and both survive a restart.
func TestDialog_SeparateFromPresenceVersionedAndReloaded(t *testing.T) {
	cfg := presence.DefaultConfig()
	cfg.MinNotifyInterval = 0
	f := newFixture(t, cfg)
	ctx := context.Background()
	f.subscribe("presence-watcher", time.Hour)
	if _, _, err := f.svc.Subscribe(ctx, presence.SubscribeRequest{ID: "blf", Presentity: alice,
		Event: presence.EventDialog, Watcher: "sip:bob@example.com", Expires: dur(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Flush("blf"); err != nil {
		t.Fatal(err)
	}
	dialogDoc := func(state string) []byte {
		return []byte(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="` + alice +
			`"><dialog id="call-1" direction="recipient"><state>` + state + `</state></dialog></dialog-info>`)
	}
	pub, err := f.svc.Publish(ctx, presence.PublishRequest{Presentity: alice, Event: presence.EventDialog,
		Expires: dur(time.Hour), ContentType: "application/dialog-info+xml", Body: dialogDoc("early")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(ctx, presence.PublishRequest{Presentity: alice, Event: presence.EventDialog, IfMatch: pub.ETag,
		Expires: dur(time.Hour), ContentType: "application/dialog-info+xml", Body: dialogDoc("confirmed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(ctx, presence.PublishRequest{Presentity: alice, Event: "message-summary",
		Expires: dur(time.Hour), Body: dialogDoc("early")}); !errors.Is(err, presence.ErrBadEvent) {
		t.Fatalf("an unserved event: %v, want ErrBadEvent", err)
	}
	if _, err := f.svc.Publish(ctx, presence.PublishRequest{Presentity: alice, Event: presence.EventDialog,
		Expires: dur(time.Hour), Body: doc("open")}); !errors.Is(err, presence.ErrInvalidDocument) {
		t.Fatalf("PIDF as dialog-info: %v, want ErrInvalidDocument", err)
	}

	var blf []presence.Notification
	eventually(t, "the BLF watcher's confirmed dialog", func() bool {
		blf = blf[:0]
		for _, n := range f.rec.all() {
			if n.Subscription.ID == "blf" {
				blf = append(blf, n)
			}
		}
		return len(blf) > 0 && strings.Contains(string(blf[len(blf)-1].Body), "<state>confirmed</state>")
	})
	for i, n := range blf {
		if want := fmt.Sprintf(`version="%d"`, i); !strings.Contains(string(n.Body), want) {
			t.Errorf("BLF notification %d lacks %s:\n%s", i, want, n.Body)
		}
	}
	for _, n := range f.rec.all() {
		if n.Subscription.ID == "presence-watcher" && strings.Contains(string(n.Body), "dialog") {
			t.Errorf("the presence watcher got dialog-info:\n%s", n.Body)
		}
	}
	if doc, _ := f.svc.Document(alice); !strings.Contains(string(doc), "<presence") {
		t.Errorf("alice's presence document changed:\n%s", doc)
	}

	f.close()
	f.open()
	defer f.close()
	sub, ok := f.svc.Subscription("blf")
	if !ok || sub.Event != presence.EventDialog {
		t.Fatalf("after a restart: %+v %v", sub, ok)
	}
	if st := f.svc.Stats(); st.Publications != 1 || st.Subscriptions != 2 {
		t.Fatalf("after a restart: %+v", st)
	}
}

// eventually polls cond until it holds, for five seconds at most.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not in time", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Records stored before event packages were told apart have no event:
// they load as presence, and their notifications say so.
func TestReload_RecordsWithoutEventArePresence(t *testing.T) {
	cfg := presence.DefaultConfig()
	cfg.MinNotifyInterval = 0
	f := newFixture(t, cfg)
	ctx := context.Background()
	if err := f.db.PutSubscription(ctx, presence.Subscription{ID: "old", Presentity: alice, Watcher: "sip:bob@example.com",
		Expires: time.Now().Add(time.Hour), SeqReserved: 256}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.PutPublication(ctx, presence.Publication{Presentity: alice, ETag: "e1", Expires: time.Now().Add(time.Hour),
		ContentType: "application/pidf+xml", Body: doc("open"), Seq: 1}, ""); err != nil {
		t.Fatal(err)
	}
	f.close()
	f.open()
	defer f.close()
	if sub, ok := f.svc.Subscription("old"); !ok || sub.Event != presence.EventPresence {
		t.Fatalf("old subscription: %+v %v", sub, ok)
	}
	if d, ok := f.svc.Document(alice); !ok || !strings.Contains(string(d), "<basic>open</basic>") {
		t.Fatalf("old publication: %v\n%s", ok, d)
	}
}

// After a restart a stored publication is parsed only when its document
// is needed: the observer sees the presentities it wants at Load, the
// others' documents are composed when asked for, and a stored document
// that no longer parses is dropped then, from memory and from the store.
func TestReload_DocumentsParsedWhenNeeded(t *testing.T) {
	f := newFixture(t, presence.DefaultConfig())
	f.publish("", doc("open"), time.Hour)
	const bob = "sip:bob@example.com"
	broken := presence.Publication{Presentity: bob, Event: presence.EventPresence, ETag: "broken", Expires: time.Now().Add(time.Hour),
		ContentType: "application/pidf+xml", Body: []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + bob + `"><tuple>`), Seq: 99}
	if err := f.db.PutPublication(context.Background(), broken, ""); err != nil {
		t.Fatal(err)
	}
	f.close()

	db, err := store.Open(store.Config{Path: f.path, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := presence.New(presence.DefaultConfig(), db, &recorder{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer svc.Close()
	var observed []string
	svc.Observe(func(uri string) bool { return uri == alice }, func(uri string, _ []byte) { observed = append(observed, uri) })
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(observed) != 1 || observed[0] != alice {
		t.Fatalf("observed at Load: %v, want alice only", observed)
	}
	if d, ok := svc.Document(alice); !ok || !strings.Contains(string(d), "open") {
		t.Fatalf("alice after a restart: %v %s", ok, d)
	}
	if d, ok := svc.Document(bob); ok || !strings.Contains(string(d), "closed") {
		t.Fatalf("bob, whose stored document is broken: %v %s", ok, d)
	}
	var left []string
	if err := db.LoadPublications(context.Background(), func(p presence.Publication) error {
		left = append(left, p.Presentity)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != alice {
		t.Fatalf("stored after the broken one was met: %v", left)
	}
}

// gated is a Notifier whose deliveries wait until release is closed,
// counting how many wait at once.
type gated struct {
	release       chan struct{}
	mu            sync.Mutex
	waiting, most int
	delivered     int
}

func (g *gated) Notify(ctx context.Context, _ presence.Notification) error {
	g.mu.Lock()
	g.waiting++
	g.most = max(g.most, g.waiting)
	g.mu.Unlock()
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	g.mu.Lock()
	g.waiting--
	g.delivered++
	g.mu.Unlock()
	return nil
}

// More watchers than presence.notify_window: at most that many
// notifications wait for their answer at once, the others wait for a
// place, and every one is delivered.
func TestNotify_WindowBoundsNotificationsInFlight(t *testing.T) {
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "p.db"), BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := presence.DefaultConfig()
	cfg.NotifyWindow = 3
	g := &gated{release: make(chan struct{})}
	svc := presence.New(cfg, db, g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer svc.Close()
	const watchers = 10
	for i := range watchers {
		id := fmt.Sprint("w", i)
		if _, _, err := svc.Subscribe(context.Background(), presence.SubscribeRequest{
			ID: id, Presentity: alice, Watcher: fmt.Sprintf("sip:w%d@example.com", i), Expires: dur(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Flush(id); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "3 in flight and 7 waiting", func() bool {
		inFlight, waiting := svc.Notifies()
		return inFlight == 3 && waiting == 7
	})
	close(g.release)
	eventually(t, "every notification delivered", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.delivered == watchers
	})
	if g.most != cfg.NotifyWindow {
		t.Fatalf("%d notifications waited at once, want the window's %d", g.most, cfg.NotifyWindow)
	}
	eventually(t, "nothing in flight or waiting", func() bool {
		inFlight, waiting := svc.Notifies()
		return inFlight == 0 && waiting == 0
	})
}
