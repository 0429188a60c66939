package calls_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/store"
)

// The calls state machines (queue, ring, retry) run here against the real
// ACD on a virtual clock (testing/synctest); the agents' phones and the
// visitor's media are stand-ins for the ports the SIP and media adapters
// implement, which cmd/switchboard's tests drive with real peers.

const (
	alice = "sip:alice@example.com" // billing 4
	carol = "sip:carol@example.com" // billing 5
)

// What a stand-in phone does with each INVITE, in turn; the last repeats.
const (
	answers  = "answer"
	rejects  = "reject"   // 486
	ringsOut = "ring"     // rings until the INVITE is cancelled
	unusable = "unusable" // answers with SDP the media cannot use
	late     = "late"     // answers after ringing 3 s
)

// phones is the Dialer: each agent's phone plays its script.
type phones struct {
	mu      sync.Mutex
	scripts map[string][]string
	rung    []string
	legs    map[string]calls.LegHandler // the answered calls' handlers
	texts   []string                    // "agent: text" of each chat message
}

func (p *phones) Message(_ context.Context, agent, _, _, text string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.texts = append(p.texts, agent+": "+text)
	return nil
}

func (p *phones) Composing(context.Context, string, string, bool) error { return nil }

func (p *phones) Dial(ctx context.Context, agent string, _ calls.Offer, h calls.LegHandler) (calls.Leg, error) {
	p.mu.Lock()
	p.rung = append(p.rung, agent)
	script := p.scripts[agent]
	act := script[0]
	if len(script) > 1 {
		p.scripts[agent] = script[1:]
	}
	p.mu.Unlock()
	switch act {
	case rejects:
		return nil, errors.New("486 Busy Here")
	case ringsOut:
		h.Ringing(nil)
		<-ctx.Done()
		return nil, ctx.Err()
	case late:
		h.Ringing(nil)
		time.Sleep(3 * time.Second)
	}
	p.mu.Lock()
	p.legs[agent] = h
	p.mu.Unlock()
	answer := "v=0 usable"
	if act == unusable {
		answer = "v=0 unusable"
	}
	return leg{answer: answer}, nil
}

func (p *phones) calledInOrder() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.rung)
}

type leg struct{ answer string }

func (l leg) Answer() []byte                              { return []byte(l.answer) }
func (leg) Hangup(context.Context, calls.Cause) error     { return nil }
func (leg) Message(context.Context, string) error         { return nil }
func (engine) Answer(string) (calls.Media, string, error) { return newMedia(), "v=0 answer", nil }
func (m *media) Ready() <-chan struct{}                   { return m.ready }
func (*media) AgentOffer() []byte                         { return []byte("v=0 offer") }
func (*media) Reoffer(o []byte) ([]byte, error)           { return o, nil }
func (*media) Restart(o string) (string, error)           { return "answer to " + o, nil }
func (m *media) Chat() <-chan calls.ChatMessage           { return m.chat }
func (*media) ChatResult(string, error)                   {}
func (*media) SendChat(string) error                      { return nil }
func (m *media) Done() <-chan struct{}                    { return m.done }
func (*media) Reason() string                             { return "" }
func (*media) Close()                                     {}
func (*media) Hold(bool)                                  {}
func (*media) Disconnect()                                {}

// engine answers every offer; its media is ready at once.
type engine struct{}

type media struct {
	ready, done chan struct{}
	chat        chan calls.ChatMessage
}

func newMedia() *media {
	m := &media{ready: make(chan struct{}), done: make(chan struct{}), chat: make(chan calls.ChatMessage)}
	close(m.ready)
	return m
}

// Connect takes a phone's answer; "unusable" SDP fails, as a codec the
// browser leg cannot relay would.
func (*media) Connect(answer []byte) error {
	if string(answer) == "v=0 unusable" {
		return errors.New("no codec in common")
	}
	return nil
}

// An ICE restart reaches the call's media while it lives, the call
// keeping its state; an unknown or ended call refuses it.
func TestManager_RestartICEWhileTheCallLives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newACD(t)
		ctx := context.Background()
		a.SetRegistered(ctx, alice, true)
		p := &phones{scripts: map[string][]string{alice: {answers}}, legs: map[string]calls.LegHandler{}}
		m := calls.NewManager(calls.Config{RingTimeout: 20 * time.Second, KeepEnded: time.Minute},
			a, engine{}, p, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { m.Run(runCtx); close(ran) }()
		v, _, err := m.Place(calls.Request{Group: "billing", Offer: "v=0"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if answer, err := m.RestartICE(v.ID, "v=0 restart"); err != nil || answer != "answer to v=0 restart" {
			t.Fatalf("RestartICE talking: %q, %v", answer, err)
		}
		if got, _, _ := m.Get(v.ID); got.State != calls.StateTalking {
			t.Errorf("after the restart the call is %s, want talking", got.State)
		}
		if _, err := m.RestartICE("nope", "v=0"); !errors.Is(err, calls.ErrUnknownCall) {
			t.Errorf("unknown call: %v, want ErrUnknownCall", err)
		}
		m.Hangup(v.ID)
		time.Sleep(time.Second) // virtual: past the store's batch delay
		synctest.Wait()
		if _, err := m.RestartICE(v.ID, "v=0"); !errors.Is(err, calls.ErrCallEnded) {
			t.Errorf("ended call: %v, want ErrCallEnded", err)
		}
		stop()
		<-ran
		time.Sleep(time.Hour)
	})
}

func TestManager_QueueRingAndRetry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scripts map[string][]string
		after   time.Duration // virtual time after the call is placed
		rung    []string      // the phones rung, in order
		rings   int           // or at least as many rings
		state   calls.State
		away    []string // agents set away by then
	}{
		{name: "the best skilled answers", scripts: map[string][]string{carol: {answers}, alice: {answers}},
			after: time.Second, rung: []string{carol}, state: calls.StateTalking},
		{name: "a busy agent is skipped for the next", scripts: map[string][]string{carol: {rejects}, alice: {answers}},
			after: time.Second, rung: []string{carol, alice}, state: calls.StateTalking},
		{name: "the only agent rings out, and is offered the call again after ring_skip",
			scripts: map[string][]string{alice: {ringsOut, answers}},
			after:   time.Minute, rung: []string{alice, alice}, state: calls.StateTalking},
		{name: "an unusable answer is not the agent's miss",
			scripts: map[string][]string{alice: {unusable}},
			after:   5 * time.Minute, rings: 4, state: calls.StateQueued},
		{name: "misses in a row set the agent away",
			scripts: map[string][]string{alice: {ringsOut}},
			after:   5 * time.Minute, rung: []string{alice, alice, alice}, state: calls.StateQueued, away: []string{alice}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newACD(t)
				ctx := context.Background()
				for uri := range tc.scripts {
					a.SetRegistered(ctx, uri, true)
				}
				p := &phones{scripts: tc.scripts, legs: map[string]calls.LegHandler{}}
				m := calls.NewManager(calls.Config{RingTimeout: 20 * time.Second, KeepEnded: time.Minute},
					a, engine{}, p, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
				runCtx, stop := context.WithCancel(ctx)
				ran := make(chan struct{})
				go func() { m.Run(runCtx); close(ran) }()

				v, _, err := m.Place(calls.Request{Group: "billing", Offer: "v=0"})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(tc.after)
				synctest.Wait()
				got, _, _ := m.Get(v.ID)
				rung := p.calledInOrder()
				if tc.rung != nil && !slices.Equal(rung, tc.rung) || len(rung) < tc.rings {
					t.Errorf("phones rung %v, want %v or at least %d rings", rung, tc.rung, tc.rings)
				}
				if got.State != tc.state {
					t.Errorf("call %s, want %s", got.State, tc.state)
				}
				for uri := range tc.scripts {
					st, _ := a.Agent(uri)
					if want := slices.Contains(tc.away, uri); (st.State == acd.StateAway) != want {
						t.Errorf("%s is %s after %d rings", uri, st.State, len(rung))
					}
				}
				stop()
				<-ran
				time.Sleep(time.Hour) // past any wrap-up, stored
			})
		})
	}
}

// newACD is the real ACD on a bbolt file, with the test's agents.
func newACD(t *testing.T) *acd.Service {
	t.Helper()
	a, _ := newACDAndStore(t)
	return a
}

// newACDAndStore is newACD and its bbolt file, which keeps callbacks too.
func newACDAndStore(t *testing.T) (*acd.Service, *store.DB) {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "acd.db"), BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := acd.DefaultConfig() // ring_skip 30 s, max_misses 3, wrap_up 30 s
	cfg.Agents = []acd.AgentConfig{
		{URI: alice, Skills: map[string]int{"billing": 4}},
		{URI: carol, Skills: map[string]int{"billing": 5}},
	}
	cfg.Groups = []acd.GroupConfig{{ID: "billing", Skill: "billing", MinProficiency: 3}}
	a, err := acd.New(cfg, nil, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return a, db
}
