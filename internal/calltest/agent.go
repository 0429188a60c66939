package calltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Action is what an Agent does with an incoming INVITE, after 100 and 180.
type Action int

const (
	// Answer answers 200 with an SDP answer (after Behaviour.Delay).
	Answer Action = iota
	// Reject answers the final Behaviour.Status (after Behaviour.Delay).
	Reject
	// Ring rings until the INVITE is CANCELed.
	Ring
)

func (a Action) String() string {
	switch a {
	case Answer:
		return "answer"
	case Reject:
		return "reject"
	case Ring:
		return "ring"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Behaviour is what an Agent does with one incoming call.
type Behaviour struct {
	Action Action
	// Status is Reject's final status; 486 when 0.
	Status int
	// Delay is the time between the 180 and the final response. With none,
	// the 180 and the 200 leave back to back, and a sipgo peer (which
	// handles each message in a goroutine of its own) may get the 200
	// first and drop the 180: give some (say 50 ms) when the ringing state
	// matters.
	Delay time.Duration
}

// AgentOptions configures an Agent.
type AgentOptions struct {
	// Server is the registrar's UDP address (Switchboard's), host:port.
	Server string
	// User and Domain make the address of record sip:User@Domain; Domain
	// is example.com when empty.
	User, Domain string
	// Password answers digest challenges (none when empty).
	Password string
	// Expires is the registration's lifetime; 3600 s when 0.
	Expires time.Duration
	// NoRegister skips the REGISTER of NewAgent.
	NoRegister bool
	// Behaviour is what the agent does with calls, unless Decide is set;
	// SetBehaviour changes it.
	Behaviour Behaviour
	// Decide, when set, chooses the behaviour of each incoming INVITE.
	Decide func(*sip.Request) Behaviour
	// EchoChat answers each MESSAGE of a call with a MESSAGE "echo: <text>"
	// within the dialog.
	EchoChat bool
	// RefuseChat, when not 0, answers every MESSAGE with this status, as a
	// phone that takes no text does.
	RefuseChat int
	// Logger gets sipgo's logs; they are dropped when nil.
	Logger *slog.Logger
}

// EventKind is the kind of an Agent's Event.
type EventKind int

// Kinds of events.
const (
	EventInvite   EventKind = iota // an initial INVITE arrived
	EventCancel                    // the INVITE was CANCELed
	EventAck                       // the ACK of our 200 arrived
	EventBye                       // the other side sent BYE
	EventMessage                   // a MESSAGE arrived within a call
	EventReinvite                  // a re-INVITE arrived and was answered
	EventEnded                     // a call ended (any way: BYE either way, CANCEL, reject, Close)
)

func (k EventKind) String() string {
	switch k {
	case EventInvite:
		return "invite"
	case EventCancel:
		return "cancel"
	case EventAck:
		return "ack"
	case EventBye:
		return "bye"
	case EventMessage:
		return "message"
	case EventReinvite:
		return "reinvite"
	case EventEnded:
		return "ended"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is something that happened to one of an Agent's calls.
type Event struct {
	Kind    EventKind
	Call    *Call
	Request *sip.Request // the request, nil for EventEnded
}

// chanSize is the buffer of an Agent's channels; when one is full (nobody
// reads it), new items are dropped, so that SIP handling never blocks.
const chanSize = 256

// Agent is a SIP phone on 127.0.0.1: it registers, handles INVITEs per its
// Behaviour, echoes RTP, records RFC 4733 digits and MESSAGEs. Its
// channels are buffered and drop when full, so a bench may leave them
// unread.
type Agent struct {
	opts     AgentOptions
	ready    chan struct{} // closed once set up; see markReady
	readyOne sync.Once
	aor      sip.Uri
	addr     string
	contact  sip.ContactHeader
	ua       *sipgo.UserAgent
	client   *sipgo.Client
	dialogUA *sipgo.DialogUA
	conn     net.PacketConn

	invites  chan *sip.Request
	events   chan Event
	dtmf     chan rune
	messages chan string
	pages    chan Page
	answered chan *Call
	dropped  atomic.Uint64
	rtpIn    atomic.Uint64

	regMu     sync.Mutex
	regCallID string
	regTag    string
	regCSeq   uint32

	mu        sync.Mutex
	behaviour Behaviour
	calls     map[string]*Call // by dialog ID
	current   *Call
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewAgent listens on a UDP port of 127.0.0.1 and, unless NoRegister,
// registers sip:User@Domain with a Contact at that port; it returns once
// registered.
func NewAgent(ctx context.Context, opts AgentOptions) (*Agent, error) {
	if opts.User == "" {
		return nil, errors.New("calltest: agent without User")
	}
	if opts.Server == "" && !opts.NoRegister {
		return nil, errors.New("calltest: agent without Server")
	}
	if opts.Domain == "" {
		opts.Domain = "example.com"
	}
	if opts.Expires == 0 {
		opts.Expires = time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("calltest-agent"),
		sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
	)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		opts:      opts,
		ready:     make(chan struct{}),
		aor:       sip.Uri{Scheme: "sip", User: opts.User, Host: opts.Domain},
		ua:        ua,
		invites:   make(chan *sip.Request, chanSize),
		events:    make(chan Event, chanSize),
		dtmf:      make(chan rune, chanSize),
		messages:  make(chan string, chanSize),
		pages:     make(chan Page, chanSize),
		answered:  make(chan *Call, chanSize),
		regCallID: sip.GenerateTagN(16) + "@calltest",
		regTag:    sip.GenerateTagN(10),
		behaviour: opts.Behaviour,
		calls:     map[string]*Call{},
		closed:    make(chan struct{}),
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		return nil, err
	}
	// Handlers wait until the agent is set up (client, contact, dialogs).
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) { <-a.ready; a.onInvite(req, tx) })
	srv.OnAck(a.onAck)
	srv.OnBye(a.onBye)
	srv.OnMessage(a.onMessage)
	srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) { // CANCELs sipgo matched no INVITE to
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		ua.Close()
		return nil, err
	}
	a.conn = conn
	a.addr = conn.LocalAddr().String()
	go srv.ServeUDP(conn)
	// sipgo adds the socket to its pool once serving; a client bound to
	// the address before that would try to bind it again.
	if err := poll(ctx, func() bool {
		c, err := ua.TransportLayer().GetConnection("udp", a.addr)
		return err == nil && c != nil
	}, func() string { return "sip listener not ready" }); err != nil {
		a.Close()
		return nil, err
	}
	if a.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(a.addr), sipgo.WithClientLogger(log)); err != nil {
		a.Close()
		return nil, err
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	a.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: opts.User, Host: "127.0.0.1", Port: port}}
	a.dialogUA = &sipgo.DialogUA{Client: a.client, ContactHDR: a.contact}
	a.markReady()
	if !opts.NoRegister {
		if err := a.Register(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// Addr is the agent's SIP address (UDP), host:port.
func (a *Agent) Addr() string { return a.addr }

// AOR is the agent's address of record, sip:user@domain.
func (a *Agent) AOR() string { return a.aor.String() }

// Contact is the agent's contact URI.
func (a *Agent) Contact() string { return a.contact.Address.String() }

// Register registers (or refreshes) the agent's binding for Expires.
func (a *Agent) Register(ctx context.Context) error {
	return a.register(ctx, int(a.opts.Expires/time.Second))
}

// Unregister removes the agent's binding (Expires: 0).
func (a *Agent) Unregister(ctx context.Context) error { return a.register(ctx, 0) }

func (a *Agent) register(ctx context.Context, expires int) error {
	a.regMu.Lock()
	defer a.regMu.Unlock()
	a.regCSeq++
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: a.opts.Domain})
	from := &sip.FromHeader{Address: a.aor}
	from.Params.Add("tag", a.regTag)
	callID := sip.CallIDHeader(a.regCallID)
	exp := sip.ExpiresHeader(expires)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: a.aor})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: a.regCSeq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.HeaderClone(&a.contact))
	req.AppendHeader(&exp)
	req.SetDestination(a.opts.Server)
	res, err := do(ctx, a.client, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && a.opts.Password != "" {
		res, err = a.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: a.opts.User, Password: a.opts.Password})
		if err == nil && res == nil {
			err = errNoAnswer
		}
		a.regCSeq = req.CSeq().SeqNo
	}
	if err != nil {
		return fmt.Errorf("REGISTER %s: %w", a.aor.String(), err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("REGISTER %s: %d %s", a.aor.String(), res.StatusCode, res.Reason)
	}
	return nil
}

var errNoAnswer = errors.New("transaction ended without an answer")

// do is client.Do that turns sipgo's (nil, nil) when closing into an error.
func do(ctx context.Context, c *sipgo.Client, req *sip.Request) (*sip.Response, error) {
	res, err := c.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoAnswer
	}
	return res, err
}

// SetBehaviour changes what the agent does with the next calls (unless
// Decide is set).
func (a *Agent) SetBehaviour(b Behaviour) {
	a.mu.Lock()
	a.behaviour = b
	a.mu.Unlock()
}

// Invites delivers every initial INVITE received (From display name,
// Switchboard-Call, Switchboard-Context are in its headers).
func (a *Agent) Invites() <-chan *sip.Request { return a.invites }

// Events delivers what happens to the agent's calls.
func (a *Agent) Events() <-chan Event { return a.events }

// DTMF delivers each RFC 4733 digit received, once (on its end packets).
func (a *Agent) DTMF() <-chan rune { return a.dtmf }

// Messages delivers the text of every MESSAGE received within a call.
func (a *Agent) Messages() <-chan string { return a.messages }

// Answered delivers each call once its 200 is ACKed.
func (a *Agent) Answered() <-chan *Call { return a.answered }

// Dropped counts the items dropped because a channel of the agent was full.
func (a *Agent) Dropped() uint64 { return a.dropped.Load() }

// RTPReceived counts the RTP packets received on all calls.
func (a *Agent) RTPReceived() uint64 { return a.rtpIn.Load() }

// WaitCall waits for the next answered (ACKed) call.
func (a *Agent) WaitCall(ctx context.Context) (*Call, error) {
	return Recv(ctx, a.answered)
}

// Call returns the current call: the last one answered that has not
// ended, nil when none.
func (a *Agent) Call() *Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current
}

// Calls returns the calls in progress (ringing or answered).
func (a *Agent) Calls() []*Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*Call, 0, len(a.calls))
	for _, c := range a.calls {
		out = append(out, c)
	}
	return out
}

// Close ends the calls without signalling (as a vanished phone) and
// closes the sockets. Unregister first for a clean exit.
func (a *Agent) Close() error {
	a.markReady()
	a.closeOnce.Do(func() {
		a.mu.Lock()
		close(a.closed)
		a.mu.Unlock()
		for _, c := range a.Calls() {
			c.end()
		}
		if a.conn != nil {
			a.conn.Close()
		}
		a.ua.Close()
	})
	a.wg.Wait()
	return nil
}

// track counts a goroutine in the agent's WaitGroup, false when closed.
func (a *Agent) track() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.closed:
		return false
	default:
		a.wg.Add(1)
		return true
	}
}

// send delivers v on ch unless ch is full.
func send[T any](a *Agent, ch chan T, v T) {
	select {
	case ch <- v:
	default:
		a.dropped.Add(1)
	}
}

func (a *Agent) event(k EventKind, c *Call, req *sip.Request) {
	send(a, a.events, Event{Kind: k, Call: c, Request: req})
}

// markReady lets the handlers run (also on Close, so none waits forever).
func (a *Agent) markReady() { a.readyOne.Do(func() { close(a.ready) }) }

// Recv waits for the next value of ch, or ctx's end.
func Recv[T any](ctx context.Context, ch <-chan T) (T, error) {
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
