package sip

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/location"
)

// Locator finds where agents' phones are registered.
type Locator interface {
	Lookup(aor string) []location.Binding
}

// Headers the agent's phone gets with a visitor's call (docs/calls.md).
const (
	hdrCall    = "Switchboard-Call"
	hdrContext = "Switchboard-Context"
)

// ErrNotRegistered is returned by Dial for an agent without a live binding.
var ErrNotRegistered = errors.New("agent not registered")

// DialError is an agent's final refusal of a call.
type DialError struct {
	Status int
	Reason string
}

func (e *DialError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Reason) }

var _ calls.Dialer = (*Server)(nil)

// ServeCalls makes this server the B2BUA of visitors' calls: Dial places
// agents' legs at the contacts l knows, and the agents' in-dialog BYE,
// re-INVITE and MESSAGE reach the calls.
func (s *Server) ServeCalls(l Locator) {
	s.locator = l
	s.srv.OnInvite(s.handle(s.onInvite))
	s.srv.OnAck(func(*sipmsg.Request, sipmsg.ServerTransaction) {}) // ACKs of our 2xx to re-INVITEs
	s.srv.OnBye(s.handle(s.onBye))
	s.srv.OnMessage(s.handle(s.onMessage))
	s.methods = append(s.methods, "INVITE", "ACK", "BYE", "CANCEL", "MESSAGE")
}

// legs are the answered agent legs by dialog id.
type legs struct {
	mu sync.Mutex
	m  map[string]*agentLeg
}

func (t *legs) put(id string, l *agentLeg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*agentLeg)
	}
	t.m[id] = l
}

func (t *legs) get(id string) *agentLeg {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *legs) drop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}

// Dial implements calls.Dialer: it INVITEs the agent's most recently
// registered contact, and returns once the agent answered and was ACKed.
// Cancelling ctx before that CANCELs the INVITE.
func (s *Server) Dial(ctx context.Context, agent string, o calls.Offer, h calls.LegHandler) (calls.Leg, error) {
	bs := s.locator.Lookup(agent)
	if len(bs) == 0 {
		return nil, fmt.Errorf("dial %s: %w", agent, ErrNotRegistered)
	}
	b := slices.MaxFunc(bs, func(a, b location.Binding) int { return a.Expires.Compare(b.Expires) })
	req, err := s.newInvite(agent, b, o)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", agent, err)
	}
	ua := &sipgo.DialogUA{Client: s.client, ContactHDR: *req.Contact()}
	sess, err := ua.WriteInvite(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", agent, err)
	}
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		if res.StatusCode == 180 || res.StatusCode == 183 {
			h.Ringing()
		}
		return nil
	}})
	if err != nil {
		s.endAnswered(sess) // a 200 that crossed our CANCEL
		var refused *sipgo.ErrDialogResponse
		if errors.As(err, &refused) {
			err = &DialError{Status: refused.Res.StatusCode, Reason: refused.Res.Reason}
			s.metrics.dials.WithLabelValues("refused").Inc()
		} else {
			s.metrics.dials.WithLabelValues("failed").Inc()
		}
		return nil, fmt.Errorf("dial %s: %w", agent, err)
	}
	if err := sess.Ack(ctx); err != nil {
		sess.Close()
		return nil, fmt.Errorf("dial %s: ack: %w", agent, err)
	}
	l := &agentLeg{s: s, sess: sess, h: h, id: sess.ID}
	s.legs.put(l.id, l)
	s.metrics.dials.WithLabelValues("answered").Inc()
	return l, nil
}

// endAnswered ACKs and BYEs an INVITE answered 2xx after we gave up.
func (s *Server) endAnswered(sess *sipgo.DialogClientSession) {
	if res := sess.InviteResponse; res == nil || !res.IsSuccess() {
		return
	}
	id, err := sipmsg.DialogIDFromResponse(sess.InviteResponse)
	if err != nil {
		return
	}
	sess.ID = id
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if sess.Ack(ctx) == nil {
		sess.Bye(ctx)
	}
}

// newInvite builds the INVITE of o toward binding b of agent.
func (s *Server) newInvite(agent string, b location.Binding, o calls.Offer) (*sipmsg.Request, error) {
	var target, aor sipmsg.Uri
	if err := sipmsg.ParseUri(b.Contact, &target); err != nil {
		return nil, fmt.Errorf("contact %q: %w", b.Contact, err)
	}
	if err := sipmsg.ParseUri(agent, &aor); err != nil {
		return nil, fmt.Errorf("agent %q: %w", agent, err)
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, target)
	from := &sipmsg.FromHeader{DisplayName: o.Display,
		Address: sipmsg.Uri{Scheme: "sip", User: "visitor", Host: aor.Host}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: aor, Params: sipmsg.NewParams()})
	transport := b.Transport
	if transport == "" {
		transport = "UDP"
	}
	req.AppendHeader(&sipmsg.ContactHeader{Address: s.contactURI(transport)})
	req.AppendHeader(sipmsg.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, MESSAGE, OPTIONS"))
	req.AppendHeader(sipmsg.NewHeader("User-Agent", s.cfg.userAgent()))
	req.AppendHeader(sipmsg.NewHeader(hdrCall, o.CallID))
	if o.Context != "" {
		req.AppendHeader(sipmsg.NewHeader(hdrContext, o.Context))
	}
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(o.SDP)
	source := ""
	if behindNAT(target, b) {
		source = b.Source
	}
	s.route(req, &subDialog{Transport: transport, Source: source})
	return req, nil
}

// behindNAT reports whether the contact of binding b cannot be reached as
// it reads, so that requests go back where the REGISTER came from: over
// a connection (TCP, TLS, WebSocket: the phone's own connection), or over
// UDP when the contact shows a private address other than the source's.
// A contact elsewhere than the source (a phone registered by a third
// party, or on another port) is used as it is.
func behindNAT(contact sipmsg.Uri, b location.Binding) bool {
	if b.Source == "" {
		return false
	}
	if !strings.EqualFold(b.Transport, "UDP") && b.Transport != "" {
		return true
	}
	ip, err := netip.ParseAddr(contact.Host)
	if err != nil || !ip.IsPrivate() {
		return false
	}
	src, err := netip.ParseAddrPort(b.Source)
	return err == nil && src.Addr().Unmap() != ip.Unmap()
}

// agentLeg is an answered agent leg; it implements calls.Leg.
type agentLeg struct {
	s    *Server
	sess *sipgo.DialogClientSession
	h    calls.LegHandler
	id   string
	mu   sync.Mutex // one in-dialog request of ours at a time (CSeq order)
}

// Answer implements calls.Leg.
func (l *agentLeg) Answer() []byte { return l.sess.InviteResponse.Body() }

// Hangup implements calls.Leg.
func (l *agentLeg) Hangup(ctx context.Context) error {
	l.s.legs.drop(l.id)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess.Bye(ctx)
}

// Message implements calls.Leg: RFC 3428 MESSAGE within the dialog.
func (l *agentLeg) Message(ctx context.Context, text string) error {
	req := sipmsg.NewRequest(sipmsg.MESSAGE, l.sess.InviteRequest.Recipient)
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
	req.SetBody([]byte(text))
	l.mu.Lock()
	defer l.mu.Unlock()
	res, err := l.sess.Do(ctx, req)
	switch {
	case err != nil:
		return fmt.Errorf("message: %w", err)
	case res == nil:
		return fmt.Errorf("message: %w", errNoAnswer)
	case !res.IsSuccess():
		return fmt.Errorf("message: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// leg finds the agent leg an in-dialog request belongs to.
func (s *Server) leg(req *sipmsg.Request) *agentLeg {
	id, err := sipmsg.DialogIDFromRequestUAC(req)
	if err != nil {
		return nil
	}
	return s.legs.get(id)
}

// onInvite answers a re-INVITE from an agent (hold, resume). Switchboard
// takes no new calls: an INVITE outside a dialog is refused.
func (s *Server) onInvite(x *exchange) {
	l := s.leg(x.req)
	if l == nil {
		if tag, _ := x.req.To().Params.Get("tag"); tag != "" {
			x.respond(481, "Call/Transaction Does Not Exist", nil)
			return
		}
		x.respond(403, "Switchboard takes no incoming calls", nil)
		return
	}
	if err := l.sess.ReadRequest(x.req, x.tx); err != nil {
		x.respond(500, "CSeq out of order", nil)
		return
	}
	answer, err := l.h.Reoffer(x.req.Body())
	if err != nil {
		x.respond(488, "Not Acceptable Here", nil, sipmsg.NewHeader("Warning", `399 switchboard "`+err.Error()+`"`))
		return
	}
	x.respond(200, "OK", answer, sipmsg.NewHeader("Content-Type", "application/sdp"),
		&sipmsg.ContactHeader{Address: s.contactURI(x.req.Transport())})
}

// onBye ends an agent leg from the agent's side.
func (s *Server) onBye(x *exchange) {
	l := s.leg(x.req)
	if l == nil {
		x.respond(481, "Call/Transaction Does Not Exist", nil)
		return
	}
	s.legs.drop(l.id)
	if err := l.sess.ReadBye(x.req, x.tx); err != nil {
		x.log.Warn("answer BYE", "error", err)
	}
	l.h.HungUp()
}

// onMessage delivers an agent's chat text to the visitor (RFC 3428).
func (s *Server) onMessage(x *exchange) {
	l := s.leg(x.req)
	if l == nil {
		x.respond(481, "Call/Transaction Does Not Exist", nil)
		return
	}
	if ct := x.req.ContentType(); ct == nil || !isTextPlain(ct.Value()) {
		x.respond(415, "Unsupported Media Type", nil, sipmsg.NewHeader("Accept", "text/plain"))
		return
	}
	l.h.Message(string(x.req.Body()))
	x.respond(200, "OK", nil)
}

// isTextPlain reports whether a Content-Type value is text/plain.
func isTextPlain(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "text/plain"
}
