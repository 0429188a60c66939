package calls_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/calls"
)

// trunk is the Trunk: the visitor's phone plays its script, in turn.
type trunk struct {
	mu     sync.Mutex
	script []string
	legs   []calls.LegHandler // the answered calls' handlers
}

type busyHere struct{}

func (busyHere) Error() string      { return "486 Busy Here" }
func (busyHere) Cause() calls.Cause { return calls.Cause{Status: 486, Text: "Busy Here"} }

func (tr *trunk) Dial(ctx context.Context, _ string, _ calls.Offer, h calls.LegHandler) (calls.Leg, error) {
	tr.mu.Lock()
	act := tr.script[0]
	if len(tr.script) > 1 {
		tr.script = tr.script[1:]
	}
	tr.mu.Unlock()
	switch act {
	case rejects:
		return nil, busyHere{}
	case ringsOut:
		<-ctx.Done()
		return nil, ctx.Err()
	}
	tr.mu.Lock()
	tr.legs = append(tr.legs, h)
	tr.mu.Unlock()
	return leg{answer: "v=0 usable"}, nil
}

// hangUp ends the visitor's answered call from its side.
func (tr *trunk) hangUp() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.legs[len(tr.legs)-1].HungUp()
}

// bridger opens stand-in RTP legs; the agent's unusable SDP fails.
type bridger struct{}

func (bridger) Bridge() (calls.PhoneMedia, error) { return &phoneMedia{done: make(chan struct{})}, nil }

type phoneMedia struct{ done chan struct{} }

func (*phoneMedia) AgentOffer() []byte                    { return []byte("v=0 offer") }
func (*phoneMedia) TrunkOffer() []byte                    { return []byte("v=0 offer") }
func (*phoneMedia) ConnectTrunk([]byte) error             { return nil }
func (*phoneMedia) Ringback()                             {}
func (*phoneMedia) ReofferAgent(o []byte) ([]byte, error) { return o, nil }
func (*phoneMedia) ReofferTrunk(o []byte) ([]byte, error) { return o, nil }
func (m *phoneMedia) Done() <-chan struct{}               { return m.done }
func (*phoneMedia) Close()                                {}
func (*phoneMedia) ConnectAgent(answer []byte) error {
	if string(answer) == "v=0 unusable" {
		return errors.New("no codec in common")
	}
	return nil
}

func TestCallbacks_AttemptsAndOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		agent    []string // alice's phone
		visitor  []string // the visitor's phone, through the trunk
		hangUp   bool     // the visitor hangs up once bridged
		after    time.Duration
		state    calls.CallbackState
		outcomes []string // the attempts' outcomes, by prefix
	}{
		{name: "agent then visitor answer, done when the visitor hangs up",
			agent: []string{answers}, visitor: []string{answers}, hangUp: true, after: time.Minute,
			state: calls.CallbackDone, outcomes: []string{"answered"}},
		{name: "a busy visitor is called again after retry_spacing, then the callback fails",
			agent: []string{answers}, visitor: []string{rejects}, after: 10 * time.Minute,
			state: calls.CallbackFailed, outcomes: []string{"visitor: 486", "visitor: 486"}},
		{name: "an agent who rings out is not counted against the visitor",
			agent: []string{ringsOut, answers}, visitor: []string{answers}, after: 2 * time.Minute,
			state: calls.CallbackTalking, outcomes: []string{"agent:", "answered"}},
		{name: "an agent's unusable answer is not counted against the visitor",
			agent: []string{unusable, answers}, visitor: []string{answers}, after: 2 * time.Minute,
			state: calls.CallbackTalking, outcomes: []string{"agent:", "answered"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, db := newACDAndStore(t)
				ctx := context.Background()
				a.SetRegistered(ctx, alice, true)
				p := &phones{scripts: map[string][]string{alice: tc.agent}, legs: map[string]calls.LegHandler{}}
				tr := &trunk{script: tc.visitor}
				m := calls.NewManager(calls.Config{RingTimeout: 20 * time.Second, KeepEnded: time.Hour},
					a, engine{}, p, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
				m.EnableCallbacks(calls.CallbackConfig{Enabled: true, Phone: calls.PhonePolicy{DefaultRegion: "FR"},
					Attempts: 2, RetrySpacing: 2 * time.Minute, RingTimeout: 30 * time.Second,
					PerVisitor: 10, PerIP: 10, PerNumber: 10, RateWindow: time.Hour}, db, bridger{}, tr, func(string) {})
				runCtx, stop := context.WithCancel(ctx)
				ran := make(chan struct{})
				go func() { m.Run(runCtx); close(ran) }()

				v, err := m.RequestCallback(ctx, calls.CallbackRequest{Group: "billing", Phone: "06 12 34 56 78"})
				if err != nil {
					t.Fatal(err)
				}
				if tc.hangUp {
					time.Sleep(time.Second)
					synctest.Wait()
					tr.hangUp()
				}
				time.Sleep(tc.after)
				synctest.Wait()
				got, err := m.Callback(v.ID)
				switch {
				case err != nil:
					t.Error(err)
				case got.State != tc.state:
					t.Errorf("callback %s, want %s (attempts %+v)", got.State, tc.state, got.Attempts)
				case len(got.Attempts) != len(tc.outcomes):
					t.Errorf("attempts %+v, want outcomes %v", got.Attempts, tc.outcomes)
				default:
					for i, want := range tc.outcomes {
						if !strings.HasPrefix(got.Attempts[i].Outcome, want) {
							t.Errorf("attempt %d: %q, want %q…", i+1, got.Attempts[i].Outcome, want)
						}
					}
				}
				// Stats counts the attempts by result, the outcome's
				// prefix, and a callback that ended by its state.
				st, results := m.Stats(), map[string]int{}
				for _, o := range tc.outcomes {
					results[strings.TrimSuffix(strings.Fields(o)[0], ":")]++
				}
				if !maps.Equal(st.Attempts, results) {
					t.Errorf("Stats.Attempts %v, want %v", st.Attempts, results)
				}
				ended := map[calls.CallbackState]int{}
				if tc.state == calls.CallbackDone || tc.state == calls.CallbackFailed {
					ended[tc.state] = 1
				}
				if !maps.Equal(st.CallbacksEnded, ended) {
					t.Errorf("Stats.CallbacksEnded %v, want %v", st.CallbacksEnded, ended)
				}
				stop()
				<-ran
				time.Sleep(time.Hour) // past any wrap-up, stored
			})
		})
	}
}
