package calls

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/switchboard/switchboard/acd"
)

var (
	// ErrNoAgents is returned by Place when nobody serves the group now.
	ErrNoAgents = errors.New("no agent serving the group")
	// ErrUnknownCall is returned for a call id that is not (or no longer) known.
	ErrUnknownCall = errors.New("unknown call")
	// ErrCallEnded is returned by RestartICE for a call that has ended.
	ErrCallEnded = errors.New("the call has ended")
	// ErrStopped is returned by Place once the manager is stopping.
	ErrStopped = errors.New("calls are stopping")
	// ErrMediaFull is what a MediaEngine or Bridger returns while it
	// relays as many calls as it may: a new call is refused at once
	// rather than have live calls lose packets.
	ErrMediaFull = errors.New("the media relay is at capacity")
)

// RefusedError is a call the group cannot take now; EWT is the group's
// estimated wait, a hint of when to try again.
type RefusedError struct {
	Err error // acd.ErrGroupClosed, acd.ErrQueueFull or ErrNoAgents
	EWT time.Duration
	// RetryAfter is when to try again (acd.GroupStatus.RetryAfter).
	RetryAfter time.Duration
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Config tunes calls.
type Config struct {
	// RingTimeout is how long an agent's phone rings before the call
	// goes to the next agent.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// KeepEnded is how long an ended call (or chat) can still be looked up.
	KeepEnded time.Duration `yaml:"keep_ended"`
	// ChatIdle ends a chat after this long without a message either way.
	ChatIdle time.Duration `yaml:"chat_idle"`
}

// DefaultConfig rings 20 seconds, keeps ended calls a minute and ends
// chats idle for 10 minutes.
func DefaultConfig() Config {
	return Config{RingTimeout: 20 * time.Second, KeepEnded: time.Minute, ChatIdle: 10 * time.Minute}
}

// Validate names the first bad field, prefixed by prefix (e.g. "calls").
func (c Config) Validate(prefix string) error {
	switch {
	case c.RingTimeout <= 0:
		return fmt.Errorf("%s.ring_timeout: must be positive", prefix)
	case c.KeepEnded < 0:
		return fmt.Errorf("%s.keep_ended: must not be negative", prefix)
	case c.ChatIdle <= 0:
		return fmt.Errorf("%s.chat_idle: must be positive", prefix)
	}
	return nil
}

// Visitor is who calls, from the visitor context.
type Visitor struct {
	// Name is shown to the agent; "" shows "Web visitor".
	Name string
	// Language prefers agents with the skill lang-<Language>.
	Language string
	// Preferred is an agent URI to try first (the last one it spoke with).
	Preferred string
	// Tier is the customer's service tier, signed by the site: its
	// routing priority is acd.tiers'.
	Tier string
	// Context is the visitor context, URL-query encoded, for the agent.
	Context string
}

// Request places a call.
type Request struct {
	Group string
	// Offer is the browser's SDP offer.
	Offer   string
	Visitor Visitor
	// Chat is the visitor's chat in the group, if any: the call goes to
	// its agent first, and the chat ends.
	Chat string
}

// Manager places, routes and bridges calls. Run must be running for
// calls to reach agents.
type Manager struct {
	cfg    Config
	acd    ACD
	media  MediaEngine
	dialer Dialer
	log    *slog.Logger

	wake chan struct{} // a call arrived or came back to the queue
	stop chan struct{} // closed when Run ends: every call ends
	wg   sync.WaitGroup

	cb *callbackParts // nil: callbacks off

	msgr Messenger // nil: chats off

	mu        sync.Mutex
	calls     map[string]*Call
	callbacks map[string]*callback
	chats     map[string]*chat
	history   map[string]*history // by agent
	stopping  bool
	ended     map[string]int // calls ended so far, by reason

	obs    Observer
	counts counts // chats and callbacks, under a lock of their own
}

// Stats counts calls, chats and callbacks since start.
type Stats struct {
	// Active calls have not ended (queued, ringing or talking).
	Active int
	// Ended counts the calls ended since start, by reason.
	Ended map[string]int
	// ChatsEnded counts the chats ended, by reason (ChatReasons).
	ChatsEnded map[string]int
	// CallbacksEnded counts the callbacks that reached an end
	// (CallbackEnds), and Attempts their attempts by result
	// (AttemptResults).
	CallbacksEnded map[CallbackState]int
	Attempts       map[string]int
}

// counts are Stats' counts of chats and callbacks.
type counts struct {
	mu             sync.Mutex
	chatsEnded     map[string]int
	callbacksEnded map[CallbackState]int
	attempts       map[string]int
}

// add applies f to the counts.
func (c *counts) add(f func(c *counts)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

// Stats returns the current counts.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Stats{Ended: make(map[string]int, len(m.ended))}
	for _, c := range m.calls {
		if !c.ended() {
			st.Active++
		}
	}
	for r, n := range m.ended {
		st.Ended[r] = n
	}
	m.counts.add(func(c *counts) {
		st.ChatsEnded, st.CallbacksEnded, st.Attempts = maps.Clone(c.chatsEnded), maps.Clone(c.callbacksEnded),
			maps.Clone(c.attempts)
	})
	return st
}

// NewManager returns a manager routing with a, answering with m and
// calling agents with d, telling obs (nil: nobody) how long calls take.
func NewManager(cfg Config, a ACD, m MediaEngine, d Dialer, obs Observer, log *slog.Logger) *Manager {
	if obs == nil {
		obs = noObserver{}
	}
	return &Manager{cfg: cfg, acd: a, media: m, dialer: d, obs: obs, log: log,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), calls: make(map[string]*Call),
		callbacks: make(map[string]*callback), chats: make(map[string]*chat),
		history: make(map[string]*history), ended: make(map[string]int),
		counts: counts{chatsEnded: make(map[string]int), callbacksEnded: make(map[CallbackState]int),
			attempts: make(map[string]int)}}
}

// Place answers the visitor's offer and queues the call in its group. It
// returns the call's first view and the SDP answer.
func (m *Manager) Place(r Request) (View, string, error) {
	now := time.Now()
	if err := m.accepting(r.Group, now); err != nil {
		return View{}, "", err
	}
	media, answer, err := m.media.Answer(r.Offer)
	if err != nil {
		return View{}, "", err
	}
	if agent, open := m.ChatAgent(r.Chat); open {
		r.Visitor.Preferred = agent // held for it until the hand-over
	}
	id := newID()
	item := m.acd.NewItem(id, r.Group, r.Visitor.Preferred, m.acd.TierPriority(r.Visitor.Tier), now)
	item.Language = r.Visitor.Language
	c := newCall(id, r, item, media, answer)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping {
		media.Close()
		return View{}, "", ErrStopped
	}
	if _, err := m.acd.Enqueue(item); err != nil {
		media.Close()
		return View{}, "", m.refused(r.Group, err, now)
	}
	m.calls[id] = c
	m.refresh(c, now)
	m.wg.Add(1)
	go m.serve(c)
	m.signal()
	v, _ := c.View()
	return v, answer, nil
}

// accepting checks that group takes a call now.
func (m *Manager) accepting(group string, now time.Time) error {
	for _, st := range m.acd.Status(now) {
		if st.ID != group {
			continue
		}
		switch st.State() {
		case acd.GroupAfterHours:
			return &RefusedError{Err: acd.ErrGroupClosed, RetryAfter: st.RetryAfter}
		case acd.GroupClosed:
			return &RefusedError{Err: ErrNoAgents, RetryAfter: st.RetryAfter}
		case acd.GroupFull:
			return &RefusedError{Err: acd.ErrQueueFull, EWT: st.EWT, RetryAfter: st.RetryAfter}
		}
		return nil
	}
	return fmt.Errorf("%w: %s", acd.ErrUnknownGroup, group)
}

// refused turns an Enqueue error into a RefusedError with the group's EWT.
func (m *Manager) refused(group string, err error, now time.Time) error {
	if errors.Is(err, acd.ErrUnknownGroup) {
		return err
	}
	for _, st := range m.acd.Status(now) {
		if st.ID == group {
			return &RefusedError{Err: err, EWT: st.EWT, RetryAfter: max(st.RetryAfter, time.Second)}
		}
	}
	return err
}

// Get returns the call id as it stands and a channel closed at its next
// change.
func (m *Manager) Get(id string) (View, <-chan struct{}, error) {
	m.mu.Lock()
	c := m.calls[id]
	m.mu.Unlock()
	if c == nil {
		return View{}, nil, ErrUnknownCall
	}
	v, changed := c.View()
	return v, changed, nil
}

// Calls returns the calls that have not ended.
func (m *Manager) Calls() []View {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]View, 0, len(m.calls))
	for _, c := range m.calls {
		if v, _ := c.View(); v.State != StateEnded {
			out = append(out, v)
		}
	}
	return out
}

// Hangup ends call id for the visitor.
func (m *Manager) Hangup(id string) error {
	m.mu.Lock()
	c := m.calls[id]
	m.mu.Unlock()
	if c == nil {
		return ErrUnknownCall
	}
	c.hangUp()
	return nil
}

// RestartICE answers the ICE restart offer of call id's visitor, whose
// network changed: the call keeps its id, its place or its agent, and its
// media, which flows again over the new path once ICE connects. The
// errors are ErrUnknownCall, ErrCallEnded, and Media.Restart's.
func (m *Manager) RestartICE(id, offer string) (string, error) {
	m.mu.Lock()
	c := m.calls[id]
	m.mu.Unlock()
	if c == nil {
		return "", ErrUnknownCall
	}
	if c.ended() {
		return "", ErrCallEnded
	}
	answer, err := c.media.Restart(offer)
	if err != nil {
		m.log.Info("ICE restart refused", "call_id", id, "error", err)
		return "", err
	}
	m.log.Info("ICE restart answered", "call_id", id)
	return answer, nil
}

func (m *Manager) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// newID returns a random call id.
func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
