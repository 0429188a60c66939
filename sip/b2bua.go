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
	"sync/atomic"

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
	hdrCall     = "Switchboard-Call"
	hdrCallback = "Switchboard-Callback"
	hdrPhone    = "Switchboard-Phone"
	hdrContext  = "Switchboard-Context"
)

// ErrNotRegistered is returned by Dial for an agent without a live binding.
var ErrNotRegistered = errors.New("agent not registered")

// DialError is an agent's final refusal of a call.
type DialError struct {
	Status int
	Reason string
}

func (e *DialError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Reason) }

// Cause is the refusal as a SIP status.
func (e *DialError) Cause() calls.Cause { return calls.Cause{Status: e.Status, Text: e.Reason} }

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

// visitorPrefix starts the user part of a web visitor's URI on the agent
// leg, sip:visitor-<call id>@<domain>: each live call has its own, so the
// agent's phone can reach the visitor outside the dialog (chat).
const visitorPrefix = "visitor-"

// legs are the answered agent legs by dialog id, and those of web calls by
// the visitor's user part.
type legs struct {
	mu        sync.Mutex
	m         map[string]*leg
	byVisitor map[string]*leg
}

func (t *legs) put(id string, l *leg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m, t.byVisitor = make(map[string]*leg), make(map[string]*leg)
	}
	t.m[id] = l
	if v := l.visitor(); v != "" {
		t.byVisitor[v] = l
	}
}

func (t *legs) get(id string) *leg {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// visitor finds the leg of a web call by the visitor's user part.
func (t *legs) visitor(user string) *leg {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byVisitor[user]
}

func (t *legs) drop(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.m[id]; l != nil {
		delete(t.byVisitor, l.visitor())
	}
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
	req, nat, err := s.newInvite(agent, b, o)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", agent, err)
	}
	l, err := s.invite(ctx, req, nat, sipgo.AnswerOptions{}, h)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", agent, err)
	}
	return l, nil
}

// invite sends req and waits for its answer (following a digest
// challenge with opts' credentials), ACKs it and returns the leg. Behind
// NAT (nat), in-dialog requests go where the answer came from.
func (s *Server) invite(ctx context.Context, req *sipmsg.Request, nat bool, opts sipgo.AnswerOptions, h calls.LegHandler) (*leg, error) {
	ua := &sipgo.DialogUA{Client: s.client, ContactHDR: *req.Contact(), RewriteContact: nat}
	sess, err := ua.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	// A CANCEL may only follow a provisional answer (RFC 3261 §9.1):
	// giving up on a phone that never answered at all does not wait for
	// the INVITE transaction to time out (sipgo would, up to 64·T1).
	var provisional atomic.Bool
	wctx, wcancel := context.WithCancelCause(context.Background())
	defer wcancel(nil)
	stop := context.AfterFunc(ctx, func() {
		if provisional.Load() {
			wcancel(ctx.Err())
		} else {
			wcancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer stop()
	opts.OnResponse = func(res *sipmsg.Response) error {
		provisional.Store(true)
		if res.StatusCode == 180 || res.StatusCode == 183 {
			var early []byte
			if ct := res.ContentType(); ct != nil && strings.HasPrefix(ct.Value(), "application/sdp") {
				early = res.Body()
			}
			h.Ringing(early)
		}
		return nil
	}
	if err := sess.WaitAnswer(wctx, opts); err != nil {
		s.endAnswered(sess) // a 200 that crossed our CANCEL
		var refused *sipgo.ErrDialogResponse
		if errors.As(err, &refused) {
			s.metrics.dials.WithLabelValues("refused").Inc()
			return nil, &DialError{Status: refused.Res.StatusCode, Reason: refused.Res.Reason}
		}
		s.metrics.dials.WithLabelValues("failed").Inc()
		return nil, err
	}
	if err := sess.Ack(ctx); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ack: %w", err)
	}
	l := &leg{s: s, sess: sess, h: h, id: sess.ID}
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

// newInvite builds the INVITE of o toward binding b of agent, and tells
// whether the phone is behind NAT.
func (s *Server) newInvite(agent string, b location.Binding, o calls.Offer) (*sipmsg.Request, bool, error) {
	var target, aor sipmsg.Uri
	if err := sipmsg.ParseUri(b.Contact, &target); err != nil {
		return nil, false, fmt.Errorf("contact %q: %w", b.Contact, err)
	}
	if err := sipmsg.ParseUri(agent, &aor); err != nil {
		return nil, false, fmt.Errorf("agent %q: %w", agent, err)
	}
	caller := visitorPrefix + o.CallID
	if o.Phone != "" {
		caller = o.Phone
	}
	req := s.newRequest(target, sipmsg.Uri{Scheme: "sip", User: caller, Host: aor.Host}, o.Display, aor, bindingTransport(b), o)
	return req, s.routeToBinding(req, target, b), nil
}

// bindingTransport is the transport a binding's REGISTER came over, which
// requests to it take.
func bindingTransport(b location.Binding) string {
	if b.Transport == "" {
		return "UDP"
	}
	return b.Transport
}

// routeToBinding sends req, addressed to target, the contact of binding
// b, along the binding's Path (RFC 3327 §5.3): as Route headers, in
// order, to the first proxy of them (loose routing), when a trusted
// proxy registered it. Otherwise it goes to the contact, or back where
// the REGISTER came from when the phone is behind NAT (behindNAT), which
// it reports.
func (s *Server) routeToBinding(req *sipmsg.Request, target sipmsg.Uri, b location.Binding) (nat bool) {
	d := &subDialog{Transport: bindingTransport(b), Source: b.Source, RouteSet: b.Path}
	route := s.routeSet(d)
	for _, r := range route {
		req.AppendHeader(sipmsg.NewHeader("Route", r))
	}
	nat = len(route) == 0 && behindNAT(target, b)
	if !nat {
		d.Source = ""
	}
	s.route(req, d)
	return nat
}

// newRequest builds an INVITE of o to target, from caller (with display
// name display) to to, over transport.
func (s *Server) newRequest(target, caller sipmsg.Uri, display string, to sipmsg.Uri, transport string, o calls.Offer) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.INVITE, target)
	from := &sipmsg.FromHeader{DisplayName: display, Address: caller, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: to, Params: sipmsg.NewParams()})
	req.AppendHeader(&sipmsg.ContactHeader{Address: s.contactURI(transport)})
	req.AppendHeader(sipmsg.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, MESSAGE, OPTIONS"))
	req.AppendHeader(sipmsg.NewHeader("User-Agent", s.cfg.userAgent()))
	for _, h := range [][2]string{{hdrCall, o.CallID}, {hdrCallback, o.CallbackID}, {hdrPhone, o.Phone}, {hdrContext, o.Context}} {
		if h[1] != "" {
			req.AppendHeader(sipmsg.NewHeader(h[0], h[1]))
		}
	}
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(o.SDP)
	return req
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

// leg is an answered leg (an agent's phone, or the trunk); it implements
// calls.Leg.
type leg struct {
	s    *Server
	sess *sipgo.DialogClientSession
	h    calls.LegHandler
	id   string
	mu   sync.Mutex // one in-dialog request of ours at a time (CSeq order)
}

// Answer implements calls.Leg.
func (l *leg) Answer() []byte { return l.sess.InviteResponse.Body() }

// visitor is the user part of the web visitor this leg calls from, "" on
// other legs.
func (l *leg) visitor() string {
	if u := l.sess.InviteRequest.From().Address.User; strings.HasPrefix(u, visitorPrefix) {
		return u
	}
	return ""
}

// agent is the user part of the agent this leg calls.
func (l *leg) agent() string { return l.sess.InviteRequest.To().Address.User }

// Hangup implements calls.Leg: a BYE, with a Reason header (RFC 3326)
// when why is given.
func (l *leg) Hangup(ctx context.Context, why calls.Cause) error {
	l.s.legs.drop(l.id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if why.Status == 0 {
		return l.sess.Bye(ctx)
	}
	if l.sess.InviteResponse == nil {
		return errors.New("bye: no answer to the INVITE")
	}
	bye := sipmsg.NewRequest(sipmsg.BYE, l.remoteTarget())
	bye.AppendHeader(sipmsg.NewHeader("Reason", fmt.Sprintf("SIP ;cause=%d ;text=%q", why.Status, why.Text)))
	return l.sess.WriteBye(ctx, bye)
}

// remoteTarget is where in-dialog requests go: the Contact of the answer
// (RFC 3261 §12.1.2).
func (l *leg) remoteTarget() sipmsg.Uri {
	if c := l.sess.InviteResponse.Contact(); c != nil {
		return *c.Address.Clone()
	}
	return *l.sess.InviteRequest.Recipient.Clone()
}

// Message implements calls.Leg: RFC 3428 MESSAGE within the dialog.
func (l *leg) Message(ctx context.Context, text string) error {
	req := sipmsg.NewRequest(sipmsg.MESSAGE, l.remoteTarget())
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
func (s *Server) leg(req *sipmsg.Request) *leg {
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

// onMessage delivers an agent's chat text to the visitor (RFC 3428):
// within the call's dialog, or outside it to the visitor's own URI, as
// most softphones send chat, then only from that call's agent; or to a
// visitor's chat (chat.go).
func (s *Server) onMessage(x *exchange) {
	l := s.leg(x.req)
	if l == nil {
		if tag, _ := x.req.To().Params.Get("tag"); tag != "" {
			x.respond(481, "Call/Transaction Does Not Exist", nil)
			return
		}
		user, ok := x.authenticate()
		if !ok {
			return
		}
		if l = s.legs.visitor(x.req.Recipient.User); l == nil {
			if id, ok := strings.CutPrefix(x.req.Recipient.User, visitorPrefix); ok {
				s.onChatMessage(x, user, id) // a chat's, or nobody's
				return
			}
			x.respond(404, "No such visitor", nil)
			return
		}
		if !s.auth.mayAct(user, l.agent()) {
			x.respond(403, "Not this visitor's agent", nil)
			return
		}
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
