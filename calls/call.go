package calls

import (
	"sync"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// State is where a call stands.
type State int

// The states of a call, in the order they come.
const (
	StateUnknown State = iota
	StateQueued
	StateRinging
	StateTalking
	StateEnded
)

var stateNames = [...]string{"unknown", "queued", "ringing", "talking", "ended"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return stateNames[0]
	}
	return stateNames[s]
}

// Why a call ended.
const (
	ReasonVisitorHangup    = "visitor-hangup"
	ReasonAgentHangup      = "agent-hangup"
	ReasonNoDataConnection = "no-data-connection"
	ReasonMediaTimeout     = "media-timeout"
	ReasonShutdown         = "shutdown"
)

// Reasons lists every reason a call ends with.
var Reasons = []string{ReasonVisitorHangup, ReasonAgentHangup, ReasonNoDataConnection, ReasonMediaTimeout,
	ReasonShutdown}

// View is what the visitor sees of a call.
type View struct {
	ID, Group string
	State     State
	// Position (1 is next) and EWT while queued.
	Position int
	EWT      time.Duration
	// CallbackOffered is set once the call has waited past its group's
	// acd max_wait, callbacks being on: the visitor is offered one.
	CallbackOffered bool
	// Agent is the display name of the agent, from ringing on, and
	// AgentURI its address-of-record.
	Agent, AgentURI string
	// Held is set while talking and the agent holds the call from the
	// console: the visitor hears the hold tone.
	Held bool
	// Reason says why the call ended.
	Reason string
}

// Call is one visitor's call. Its goroutine (serve) owns its progress;
// other goroutines read its view and ask it to hang up.
type Call struct {
	id      string
	visitor Visitor
	chat    string // the chat it takes over
	item    *acd.Item
	media   Media
	answer  string

	offers   chan string   // agents the dispatcher routed the call to
	hangup   chan struct{} // closed when the visitor hangs up
	once     sync.Once
	requests chan request  // the talking agent's hold and transfer, unbuffered
	over     chan struct{} // closed once the call ended
	// queued: the item is in a queue (owned by serve, set by Place
	// before serve starts).
	queued bool

	mu      sync.Mutex
	view    View
	changed chan struct{} // closed and replaced on every change of view
}

func newCall(id string, r Request, item *acd.Item, m Media, answer string) *Call {
	return &Call{
		id: id, visitor: r.Visitor, chat: r.Chat, item: item, media: m, answer: answer,
		offers: make(chan string, 1), hangup: make(chan struct{}), requests: make(chan request), over: make(chan struct{}),
		queued:  true,
		view:    View{ID: id, Group: r.Group, State: StateQueued},
		changed: make(chan struct{}),
	}
}

// View returns the call as it stands and a channel closed at its next change.
func (c *Call) View() (View, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view, c.changed
}

// update changes the view and wakes its watchers when it changed.
func (c *Call) update(change func(v *View)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.view
	change(&c.view)
	if c.view != before {
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// group is the group the call is in now (a transfer may change it).
func (c *Call) group() string {
	v, _ := c.View()
	return v.Group
}

// ended reports whether the call is over.
func (c *Call) ended() bool {
	v, _ := c.View()
	return v.State == StateEnded
}

// hangUp asks the call to end; it is safe to call more than once.
func (c *Call) hangUp() { c.once.Do(func() { close(c.hangup) }) }

// offer hands the call to agent unless it has ended; the dispatcher
// offers a call to one agent at a time, so the send never blocks.
func (c *Call) offer(agent string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view.State == StateEnded {
		return false
	}
	select {
	case c.offers <- agent:
		return true
	default:
		return false
	}
}
