package acd_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/presence/pidf"
	"github.com/switchboard/switchboard/store"
)

const (
	alice = "sip:alice@example.com"
	bob   = "sip:bob@example.com"
	carol = "sip:carol@example.com"
)

func testConfig() acd.Config {
	c := acd.DefaultConfig()
	c.PresenceServer = "sip:127.0.0.1:5060"
	c.Agents = []acd.AgentConfig{
		{URI: alice, Name: "Alice", Skills: map[string]int{"billing": 4}},
		{URI: bob, Name: "Bob", Skills: map[string]int{"billing": 2, "support": 5}},
		{URI: carol, Name: "Carol", Skills: map[string]int{"billing": 5}},
	}
	c.Groups = []acd.GroupConfig{
		{ID: "billing", Name: "Billing", Skill: "billing", MinProficiency: 3, QueueLimit: 2},
		{ID: "support", Name: "Support", Skill: "support", MinProficiency: 3},
	}
	return c
}

// recorder is a Publisher that keeps the last document per presentity:
// presence under its URI, other events under "event URI".
type recorder struct {
	mu   sync.Mutex
	docs map[string]string
}

func (r *recorder) Publish(_ context.Context, event, uri string, doc []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if event != presence.EventPresence {
		uri = event + " " + uri
	}
	r.docs[uri] = string(doc)
	return nil
}

func newService(t *testing.T, cfg acd.Config) (*acd.Service, *store.DB) {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "acd.db"), BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := acd.New(cfg, nil, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func state(t *testing.T, s *acd.Service, uri string) acd.State {
	t.Helper()
	a, _ := s.Agent(uri)
	return a.State
}

func TestAgent_StateFollowsRegistrationPresenceAndCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig())
		ctx := context.Background()
		steps := []struct {
			name string
			do   func()
			want acd.State
		}{
			{"not registered", func() {}, acd.StateOffline},
			{"registered, nothing published", func() { s.SetRegistered(ctx, alice, true) }, acd.StateAvailable},
			{"phone says away", func() { s.SetPresence(ctx, alice, acd.PresenceAway) }, acd.StateAway},
			{"phone says open", func() { s.SetPresence(ctx, alice, acd.PresenceOpen) }, acd.StateAvailable},
			{"offered a call", func() { s.Offer(ctx, alice, &acd.Item{ID: "v1"}) }, acd.StateReserved},
			{"answered", func() { s.Answered(ctx, alice) }, acd.StateBusy},
			{"hung up", func() { s.Ended(ctx, alice, "billing", 3*time.Minute) }, acd.StateWrapUp},
			{"wrap-up over", func() { time.Sleep(30 * time.Second); synctest.Wait() }, acd.StateAvailable},
			{"on the phone by itself", func() { s.SetPresence(ctx, alice, acd.PresenceOnPhone) }, acd.StateBusy},
			{"registration lapsed", func() { s.SetRegistered(ctx, alice, false) }, acd.StateOffline},
		}
		for _, st := range steps {
			st.do()
			if got := state(t, s, alice); got != st.want {
				t.Fatalf("%s: %s, want %s", st.name, got, st.want)
			}
		}
	})
}

func TestAgent_MissesInARowSetAway(t *testing.T) {
	s, _ := newService(t, testConfig())
	ctx := context.Background()
	s.SetRegistered(ctx, alice, true)
	for i := range 3 {
		it := &acd.Item{ID: "v", Group: "billing", Enqueued: time.Now()}
		s.Offer(ctx, alice, it)
		s.Missed(ctx, alice, it)
		want := acd.StateAvailable
		if i == 2 {
			want = acd.StateAway
		}
		if got := state(t, s, alice); got != want {
			t.Fatalf("after %d misses: %s, want %s", i+1, got, want)
		}
	}
	s.SetAway(ctx, alice, false, "")
	if got := state(t, s, alice); got != acd.StateAvailable {
		t.Fatalf("back from away: %s", got)
	}
}

func TestRoute_PreferredThenBestSkilledWithTheSkill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig())
		ctx := context.Background()
		s.SetRegistered(ctx, carol, true) // billing 5
		s.SetRegistered(ctx, alice, true) // billing 4
		s.SetRegistered(ctx, bob, true)   // billing 2: below the group's minimum
		now := time.Now()

		it := s.NewItem("v1", "billing", alice, 0, now) // sticky for 30 s

		if pos, err := s.Enqueue(it); err != nil || pos != 1 || position(s, "v1") != 1 {
			t.Fatalf("enqueue: %d %v", pos, err)
		}
		if _, uri, _ := s.Route(now, nil); uri != alice {
			t.Fatalf("preferred agent: routed to %s", uri)
		}
		if _, uri, ok := s.Route(now, nil); ok {
			t.Fatalf("an item being offered was routed again, to %s", uri)
		}
		s.Release(ctx, alice, it)
		time.Sleep(2 * time.Minute)
		if _, uri, _ := s.Route(time.Now(), nil); uri != carol {
			t.Fatalf("after the preference: routed to %s, want the best skilled", uri)
		}
		s.Missed(ctx, carol, it)
		if _, uri, _ := s.Route(time.Now(), nil); uri != alice {
			t.Fatalf("after carol missed: routed to %s", uri)
		}
		s.Release(ctx, alice, it)
		s.SetPresence(ctx, alice, acd.PresenceAway)
		if _, uri, ok := s.Route(time.Now(), nil); ok {
			t.Fatalf("routed to %s though nobody eligible is available", uri)
		}
	})
}

func TestRoute_LanguageSkillPreferred(t *testing.T) {
	cfg := testConfig()
	cfg.Agents[0].Skills["lang-fr"] = 3 // alice speaks French
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, cfg)
		ctx := context.Background()
		s.SetRegistered(ctx, carol, true) // idle longest, no French
		time.Sleep(time.Minute)
		s.SetRegistered(ctx, alice, true)
		it := s.NewItem("v", "billing", "", 0, time.Now())
		it.Language = "fr"
		s.Enqueue(it)
		if _, uri, _ := s.Route(time.Now(), nil); uri != alice {
			t.Fatalf("French visitor routed to %s", uri)
		}
		s.Release(ctx, alice, it)
		it.Language = "de" // nobody speaks it: the longest idle
		if _, uri, _ := s.Route(time.Now(), nil); uri != carol {
			t.Fatalf("German visitor routed to %s", uri)
		}
	})
}

func TestHours_OpenOnlyInsideTheWeeklySchedule(t *testing.T) {
	cfg := testConfig()
	cfg.Groups[0].Hours = &acd.Hours{TimeZone: "Europe/Paris", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "08:00", Close: "18:00"}
	s, _ := newService(t, cfg)
	paris, _ := time.LoadLocation("Europe/Paris")
	cases := []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 11, 30, 7, 59, 0, 0, paris), false}, // Monday, before opening
		{time.Date(2026, 11, 30, 8, 0, 0, 0, paris), true},
		{time.Date(2026, 11, 30, 17, 59, 0, 0, paris), true},
		{time.Date(2026, 11, 30, 18, 0, 0, 0, paris), false},
		{time.Date(2026, 11, 28, 12, 0, 0, 0, paris), false},  // Saturday
		{time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), true}, // 10:00 in Paris
	}
	for _, c := range cases {
		if st := s.Status(c.at)[0]; st.Open != c.open {
			t.Errorf("%s: open=%v, want %v", c.at, st.Open, c.open)
		}
	}
	if _, err := s.Enqueue(&acd.Item{ID: "x", Group: "billing", Enqueued: cases[0].at}); err != acd.ErrGroupClosed {
		t.Fatalf("enqueue after hours: %v, want ErrGroupClosed", err)
	}
	bad := testConfig()
	bad.Groups[0].Hours = &acd.Hours{TimeZone: "Mars/Olympus", Open: "08:00", Close: "18:00"}
	if err := bad.Validate("acd"); err == nil || !strings.Contains(err.Error(), "acd.groups[0].hours.time_zone") {
		t.Fatalf("bad time zone: %v", err)
	}
}

func TestEnqueue_PriorityLimitAndUnknownGroup(t *testing.T) {
	s, _ := newService(t, testConfig())
	now := time.Now()
	s.Enqueue(&acd.Item{ID: "a", Group: "billing", Enqueued: now})
	if pos, _ := s.Enqueue(&acd.Item{ID: "b", Group: "billing", Enqueued: now, Priority: 1}); pos != 1 {
		t.Fatalf("priority item at position %d, want 1", pos)
	}
	if _, err := s.Enqueue(&acd.Item{ID: "c", Group: "billing", Enqueued: now}); err != acd.ErrQueueFull {
		t.Fatalf("third item: %v, want ErrQueueFull", err)
	}
	if _, err := s.Enqueue(&acd.Item{ID: "d", Group: "nope", Enqueued: now}); err == nil {
		t.Fatal("unknown group accepted")
	}
}

func TestLeave_ShortensTheQueueAndTeachesTheEstimate(t *testing.T) {
	s, _ := newService(t, testConfig())
	ctx := context.Background()
	s.SetRegistered(ctx, bob, true) // support, on a call
	s.Offer(ctx, bob, &acd.Item{ID: "c"})
	s.Answered(ctx, bob)
	now := time.Now()
	s.Enqueue(&acd.Item{ID: "a", Group: "support", Enqueued: now})
	s.Enqueue(&acd.Item{ID: "b", Group: "support", Enqueued: now})
	before := s.Status(now)[1]
	for range 20 { // visitors giving up after 10 s: patience looks short
		s.Enqueue(&acd.Item{ID: "x", Group: "support", Enqueued: now})
		s.Leave("support", "x", now.Add(10*time.Second), true)
	}
	after := s.Status(now)[1]
	if before.QueueLength != 2 || after.QueueLength != 2 {
		t.Fatalf("queue %d then %d, want 2 both times", before.QueueLength, after.QueueLength)
	}
	if after.EWT >= before.EWT {
		t.Fatalf("EWT %s then %s: early abandonments should shorten the expected wait", before.EWT, after.EWT)
	}
	s.Leave("support", "a", now.Add(time.Minute), false)
	if n := s.Status(now)[1].QueueLength; n != 1 {
		t.Fatalf("queue %d after one was served, want 1", n)
	}
}

func TestStatus_StatesAndOneEstimate(t *testing.T) {
	s, _ := newService(t, testConfig())
	ctx := context.Background()
	now := time.Now()
	if st := s.Status(now)[0]; st.State() != acd.GroupClosed || st.EWT != 0 || st.Band != "" || st.RetryAfter != time.Minute {
		t.Fatalf("nobody signed in: %s %+v, want closed without a wait", st.State(), st)
	}
	s.SetRegistered(ctx, alice, true)
	if st := s.Status(now)[0]; st.State() != acd.GroupOpen || st.EWT != 0 || st.Band != "under 1 minute" {
		t.Fatalf("alice available: %s %+v", st.State(), st)
	}
	// More visitors waiting than free agents: a newcomer waits.
	for _, id := range []string{"a", "b", "c"} {
		s.Enqueue(&acd.Item{ID: id, Group: "billing", Enqueued: now})
	}
	st := s.Status(now)[0]
	if st.State() != acd.GroupOpen || st.EWT <= 0 || st.EWT != st.EWT.Round(time.Second) {
		t.Fatalf("three waiting, one free agent: %+v, want a wait in whole seconds", st)
	}
	if pos, ewt := s.Waiting("billing", "a", now); pos != 1 || ewt != 0 {
		t.Fatalf("first in queue with a free agent: %d %s", pos, ewt)
	}
	s.Offer(ctx, alice, &acd.Item{ID: "x"})
	s.Answered(ctx, alice)
	if st := s.Status(now)[0]; st.State() != acd.GroupFull || st.RetryAfter <= 0 || st.Band != acd.BandOf(st.EWT, acd.DefaultBands()) {
		t.Fatalf("alice busy, queue at its limit of 2: %s %+v", st.State(), st)
	}
	s.Leave("billing", "c", now, true)
	s.Leave("billing", "b", now, true)
	if st := s.Status(now)[0]; st.State() != acd.GroupBusy || st.EWT <= 0 {
		t.Fatalf("alice busy, room in the queue: %s %+v", st.State(), st)
	}
}

func TestPresenceOf_IgnoresOwnTupleAndReadsRPID(t *testing.T) {
	const head = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">`
	ours := `<tuple id="` + acd.TupleID + `"><status><basic>open</basic></status></tuple>`
	cases := []struct {
		body string
		want acd.Presence
	}{
		{ours, acd.PresenceNone},
		{ours + `<tuple id="p"><status><basic>closed</basic></status></tuple>`, acd.PresenceAway},
		{`<tuple id="p"><status><basic>open</basic></status></tuple>`, acd.PresenceOpen},
		{`<tuple id="p"><status><basic>open</basic></status></tuple><dm:person id="x"><rpid:activities><rpid:meal/></rpid:activities></dm:person>`, acd.PresenceAway},
		{`<tuple id="p"><status><basic>open</basic></status></tuple><dm:person id="x"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>`, acd.PresenceOnPhone},
		{`<tuple id="closed"><status><basic>closed</basic></status></tuple>`, acd.PresenceNone},
		// The ACD's own person says on-the-phone: not the phone's word.
		{`<tuple id="p"><status><basic>open</basic></status></tuple><dm:person id="` + acd.TupleID +
			`"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>`, acd.PresenceOpen},
	}
	for _, c := range cases {
		if got := acd.PresenceOf("sip:alice@example.com", []byte(head+c.body+`</presence>`)); got != c.want {
			t.Errorf("%s: %v, want %v", c.body, got, c.want)
		}
	}
	// Another phone's prefixes, declared on the element itself.
	other := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:alice@example.com"><tuple id="t"><status><basic>open</basic></status></tuple>` +
		`<p:person xmlns:p="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" id="x"><r:activities><r:away/></r:activities></p:person></presence>`
	if got := acd.PresenceOf("sip:alice@example.com", []byte(other)); got != acd.PresenceAway {
		t.Errorf("prefixes p: and r: declared on the person: %v, want away", got)
	}
	if got := acd.PresenceOf("sip:alice@example.com", []byte(`<presence>`)); got != acd.PresenceNone {
		t.Errorf("a malformed document: %v", got)
	}
}

func TestRun_PublishesGroupsAndAgents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig())
		rec := &recorder{docs: map[string]string{}}
		s.SetPublisher(rec)
		ctx, cancel := context.WithCancel(context.Background())
		go s.Run(ctx)
		synctest.Wait()
		s.SetRegistered(ctx, alice, true)
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		g := rec.docs["sip:billing@example.com"]
		if !strings.Contains(g, "<basic>open</basic>") || !strings.Contains(g, "<sb:available-agents>1</sb:available-agents>") {
			t.Fatalf("billing document:\n%s", g)
		}
		if a := rec.docs[alice]; !strings.Contains(a, `state="available"`) {
			t.Fatalf("alice document:\n%s", a)
		}
		for uri, doc := range rec.docs { // what the presence server will accept
			if strings.Contains(uri, " ") {
				continue // dialog-info
			}
			if _, err := pidf.ParseDocument([]byte(doc), uri, pidf.Limits{}); err != nil {
				t.Errorf("%s: %v\n%s", uri, err, doc)
			}
		}
	})
}

// An agent's dialog-info (BLF) follows the calls the ACD routes to it:
// early while ringing, confirmed on the call, terminated after; its groups'
// documents carry it too. An agent never offered a call publishes none.
func TestRun_PublishesAgentDialogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newService(t, testConfig())
		rec := &recorder{docs: map[string]string{}}
		s.SetPublisher(rec)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go s.Run(ctx)
		s.SetRegistered(ctx, alice, true)
		s.SetRegistered(ctx, bob, true)
		doc := func(key string) string {
			time.Sleep(time.Second)
			synctest.Wait()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return rec.docs[key]
		}
		it := &acd.Item{ID: "call-1", Group: "billing"}
		for _, step := range []struct {
			do    func()
			state string
		}{
			{func() { s.Offer(ctx, alice, it) }, "early"},
			{func() { s.Answered(ctx, alice) }, "confirmed"},
			{func() { s.Ended(ctx, alice, "billing", time.Minute) }, "terminated"},
		} {
			step.do()
			want := `<dialog id="call-1" direction="recipient"><state>` + step.state + `</state></dialog>`
			for _, key := range []string{"dialog " + alice, "dialog sip:billing@example.com"} {
				if d := doc(key); !strings.Contains(d, want) || !strings.Contains(d, `state="full"`) {
					t.Fatalf("%s after %s:\n%s", key, step.state, d)
				}
			}
		}
		if d := doc("dialog " + bob); d != "" {
			t.Fatalf("bob, never offered a call, published:\n%s", d)
		}
	})
}

func TestLoad_RestoresStates(t *testing.T) {
	cfg := testConfig()
	s, db := newService(t, cfg)
	ctx := context.Background()
	s.SetRegistered(ctx, alice, true)
	s.SetAway(ctx, alice, true, "")
	s2, err := acd.New(cfg, nil, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := state(t, s2, alice); got != acd.StateOffline {
		t.Fatalf("before registrations are reported: %s, want offline", got)
	}
	s2.SetRegistered(ctx, alice, true) // as location reports at load
	if got := state(t, s2, alice); got != acd.StateAway {
		t.Fatalf("restored %s, want away (the agent's own choice)", got)
	}
}

func TestGroupDocument_RoundTrip(t *testing.T) {
	s, _ := newService(t, testConfig())
	rec := &recorder{docs: map[string]string{}}
	s.SetPublisher(rec)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run publishes one round, then sees ctx done
	s.Run(ctx)
	st, ok := acd.ParseGroupDocument("sip:billing@example.com", []byte(rec.docs["sip:billing@example.com"]))
	want := s.Status(time.Now())[0]
	want.RetryAfter = 0 // not in the document
	if !ok || st != want {
		t.Fatalf("read back %+v, ok=%v; want %+v", st, ok, want)
	}
	if _, ok := acd.ParseGroupDocument("sip:x@y", []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"/>`)); ok {
		t.Fatal("a plain PIDF document read as a group")
	}
}

func position(s *acd.Service, id string) int {
	p, _ := s.Waiting("billing", id, time.Now())
	return p
}
