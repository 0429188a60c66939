package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/netlist"
	"github.com/switchboard/switchboard/presence"
)

// udpLimit is the largest request sent over UDP when the path MTU is
// unknown (RFC 3261 §18.1.1); larger ones go over TCP.
const udpLimit = 1300

var _ presence.Notifier = (*Server)(nil)

// Notify implements presence.Notifier: it sends one NOTIFY inside the
// subscription's dialog (RFC 6665 §4.2.2) and waits for the answer. A 481,
// or no answer at all, means the subscription is gone.
func (s *Server) Notify(ctx context.Context, n presence.Notification) error {
	if !s.started.Load() {
		return errNotStarted
	}
	pd, err := s.dialogs.get(n.Subscription.ID, n.Subscription.Dialog)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Subscription.ID, err)
	}
	if n.State == presence.StateTerminated {
		s.dialogs.drop(n.Subscription.ID)
	}
	sent := time.Now()
	code, reason, err := s.sendNotify(ctx, pd.subDialog, n)
	if err == nil {
		s.metrics.notifyLatency.Observe(time.Since(sent).Seconds())
	}
	switch {
	case err != nil && ctx.Err() == nil &&
		(errors.Is(err, sipmsg.ErrTransactionTimeout) || errors.Is(err, sipmsg.ErrTransactionTransport)):
		s.dialogs.drop(n.Subscription.ID)
		s.metrics.notifies.WithLabelValues("gone").Inc()
		return fmt.Errorf("notify %s: %w: %w", n.Subscription.ID, presence.ErrSubscriptionGone, err)
	case err != nil:
		s.metrics.notifies.WithLabelValues("failed").Inc()
		return fmt.Errorf("notify %s: %w", n.Subscription.ID, err)
	case code == 481:
		s.dialogs.drop(n.Subscription.ID)
		s.metrics.notifies.WithLabelValues("gone").Inc()
		return fmt.Errorf("notify %s: %w: 481", n.Subscription.ID, presence.ErrSubscriptionGone)
	case code >= 300:
		s.metrics.notifies.WithLabelValues("failed").Inc()
		return fmt.Errorf("notify %s: %d %s", n.Subscription.ID, code, reason)
	}
	s.metrics.notifies.WithLabelValues("sent").Inc()
	return nil
}

// sendNotify sends the NOTIFY carrying n in dialog d and returns its final
// response's status. A NOTIFY that goes back over UDP to the address the
// SUBSCRIBE came from, the common case, runs in udpClient; any other
// (a route set, a stream transport, one too large for UDP) goes through
// sipgo's transaction layer, which resolves and connects.
func (s *Server) sendNotify(ctx context.Context, d *subDialog, n presence.Notification) (int, string, error) {
	if dst, ok := s.notifiesOverUDP(d, n); ok {
		branch := ownBranch + sipmsg.GenerateTagN(16)
		return s.udp.do(ctx, s.appendNotify(nil, d, n, branch), dst, branch)
	}
	msg, err := sipmsg.ParseMessage(s.appendNotify(nil, d, n, ""))
	req, ok := msg.(*sipmsg.Request)
	if err != nil || !ok {
		return 0, "", fmt.Errorf("notify: our own request does not parse: %v", err)
	}
	s.route(req, d)
	res, err := s.do(ctx, req)
	if err != nil {
		return 0, "", err
	}
	return res.StatusCode, res.Reason, nil
}

// notifiesOverUDP reports whether a NOTIFY in d goes back over UDP to the
// SUBSCRIBE's source address, and that address.
func (s *Server) notifiesOverUDP(d *subDialog, n presence.Notification) (netip.AddrPort, bool) {
	if s.udp == nil || (d.Transport != "UDP" && d.Transport != "") || len(s.routeSet(d)) > 0 {
		return netip.AddrPort{}, false
	}
	dst, err := netip.ParseAddrPort(d.Source)
	if err != nil || !s.udp.reaches(dst) {
		return netip.AddrPort{}, false
	}
	if len(n.Body)+notifyHeadAllowance > udpLimit && s.Addr("tcp") != "" {
		return netip.AddrPort{}, false // route picks TCP if it is larger than udpLimit
	}
	return dst, true
}

// notifyHeadAllowance is less than any NOTIFY's start line and headers.
const notifyHeadAllowance = 300

// appendNotify appends to b the NOTIFY carrying n within dialog d (RFC 3261
// §12.2.1.1, RFC 6665 §8.2), with a Via of branch when branch is not
// empty (sipgo adds its own otherwise).
func (s *Server) appendNotify(b []byte, d *subDialog, n presence.Notification, branch string) []byte {
	line := func(parts ...string) {
		for _, p := range parts {
			b = append(b, p...)
		}
		b = append(b, "\r\n"...)
	}
	if b == nil {
		b = make([]byte, 0, 512+len(n.Body))
	}
	line("NOTIFY ", d.RemoteTarget, " SIP/2.0")
	if branch != "" {
		line("Via: SIP/2.0/UDP ", s.viaSentBy, ";rport;branch=", branch)
	}
	line("From: <", d.LocalURI, ">;tag=", d.LocalTag)
	line("To: <", d.RemoteURI, ">;tag=", d.RemoteTag)
	line("Call-ID: ", d.CallID)
	b = append(b, "CSeq: "...)
	b = strconv.AppendUint(b, uint64(d.CSeqBase+uint32(n.Seq)), 10)
	line(" NOTIFY")
	line("Max-Forwards: 70")
	for _, r := range s.routeSet(d) {
		line("Route: ", r)
	}
	// The package the SUBSCRIBE named (RFC 6665 §8.2.1): presence, or
	// dialog for a BLF key.
	event := n.Subscription.Event
	if event == "" {
		event = presence.EventPresence
	}
	if d.EventID != "" {
		line("Event: ", event, ";id=", d.EventID)
	} else {
		line("Event: ", event)
	}
	b = append(b, "Subscription-State: "...)
	b = appendSubscriptionState(b, n)
	line()
	line("Contact: <", s.contactValue(d.Transport), ">")
	line("User-Agent: ", s.cfg.userAgent())
	// Exactly this Content-Type, without parameters: some phones refuse
	// "application/pidf+xml;charset=UTF-8" with 415.
	line("Content-Type: ", presence.ContentType(n.Subscription.Event))
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(n.Body)), 10)
	line()
	line()
	return append(b, n.Body...)
}

// routeSet is the route set in-dialog requests follow: the dialog's, when
// its SUBSCRIBE came from a trusted proxy; none otherwise, so that a
// Record-Route naming a third host is not obeyed. A binding's Path is
// followed alike (routeToBinding).
func (s *Server) routeSet(d *subDialog) []string {
	if len(d.RouteSet) == 0 {
		return nil
	}
	if !s.trustedSource(d.Source) {
		return nil
	}
	return d.RouteSet
}

// trustedSource reports whether source (host:port) is a trusted proxy
// (sip.trusted_proxies).
func (s *Server) trustedSource(source string) bool {
	src, err := netip.ParseAddrPort(source)
	return err == nil && netlist.Contains(s.trusted, src.Addr())
}

// route picks the transport and next hop of an in-dialog request. Without
// a route set it goes back where the SUBSCRIBE came from (symmetric, as
// RFC 3581 does for responses), which reaches a watcher behind NAT and
// reuses its TCP or WebSocket connection, never the host a Contact names.
// A request too large for UDP goes over TCP to the same address instead
// (RFC 3261 §18.1.1).
func (s *Server) route(req *sipmsg.Request, d *subDialog) {
	transport := d.Transport
	if transport == "" {
		transport = "UDP"
	}
	// Serialising to measure costs a copy: only when the body alone is
	// close to the limit (headers take well over 300 bytes).
	if transport == "UDP" && len(req.Body())+notifyHeadAllowance > udpLimit && messageSize(req) > udpLimit && s.Addr("tcp") != "" {
		transport = "TCP"
		req.Recipient.UriParams.Add("transport", "tcp")
	}
	req.SetTransport(transport)
	if len(s.routeSet(d)) == 0 && d.Source != "" {
		req.SetDestination(d.Source)
	}
	if transport == "UDP" && s.udpLaddr.IP != nil {
		// Send from the listening socket, the address the watcher (and
		// its NAT) has seen, also after a restart.
		req.Laddr = s.udpLaddr
	}
}

// messageSize estimates the wire size of req once sipgo adds its Via.
func messageSize(req *sipmsg.Request) int {
	const viaAllowance = 120
	var sb strings.Builder
	req.StringWrite(&sb)
	return sb.Len() + viaAllowance
}

// appendSubscriptionState appends the Subscription-State header's value
// (RFC 6665 §8.2.3).
func appendSubscriptionState(b []byte, n presence.Notification) []byte {
	if n.State == presence.StateTerminated {
		return append(append(b, "terminated;reason="...), n.Reason...)
	}
	secs := max(int64(n.Expires.Seconds()), 0)
	return strconv.AppendInt(append(b, "active;expires="...), secs, 10)
}
