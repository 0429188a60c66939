package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

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
	pd, err := s.dialogs.get(n.Subscription.ID, n.Subscription.Dialog)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Subscription.ID, err)
	}
	if n.State == presence.StateTerminated {
		s.dialogs.drop(n.Subscription.ID)
	}
	res, err := s.do(ctx, s.newNotify(pd, n))
	switch {
	case err != nil && ctx.Err() == nil &&
		(errors.Is(err, sipmsg.ErrTransactionTimeout) || errors.Is(err, sipmsg.ErrTransactionTransport)):
		s.dialogs.drop(n.Subscription.ID)
		s.metrics.notifies.WithLabelValues("gone").Inc()
		return fmt.Errorf("notify %s: %w: %w", n.Subscription.ID, presence.ErrSubscriptionGone, err)
	case err != nil:
		s.metrics.notifies.WithLabelValues("failed").Inc()
		return fmt.Errorf("notify %s: %w", n.Subscription.ID, err)
	case res.StatusCode == 481:
		s.dialogs.drop(n.Subscription.ID)
		s.metrics.notifies.WithLabelValues("gone").Inc()
		return fmt.Errorf("notify %s: %w: 481", n.Subscription.ID, presence.ErrSubscriptionGone)
	case !res.IsSuccess():
		s.metrics.notifies.WithLabelValues("failed").Inc()
		return fmt.Errorf("notify %s: %d %s", n.Subscription.ID, res.StatusCode, res.Reason)
	}
	s.metrics.notifies.WithLabelValues("sent").Inc()
	return nil
}

// newNotify builds a NOTIFY within dialog pd (RFC 3261 §12.2.1.1) carrying n.
func (s *Server) newNotify(pd *parsedDialog, n presence.Notification) *sipmsg.Request {
	d := pd.subDialog
	target := pd.target
	target.UriParams = target.UriParams.Clone() // route may add to it
	req := sipmsg.NewRequest(sipmsg.NOTIFY, target)
	from := &sipmsg.FromHeader{Address: pd.local}
	from.Params.Add("tag", d.LocalTag)
	to := &sipmsg.ToHeader{Address: pd.remote}
	to.Params.Add("tag", d.RemoteTag)
	cid := sipmsg.CallIDHeader(d.CallID)
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: d.CSeqBase + uint32(n.Seq), MethodName: sipmsg.NOTIFY})
	req.AppendHeader(&maxFwd)
	for _, r := range s.routeSet(d) {
		req.AppendHeader(sipmsg.NewHeader("Route", r))
	}
	req.AppendHeader(sipmsg.NewHeader("Event", pd.event))
	req.AppendHeader(sipmsg.NewHeader("Subscription-State", subscriptionState(n)))
	req.AppendHeader(&sipmsg.ContactHeader{Address: s.contactURI(d.Transport)})
	req.AppendHeader(sipmsg.NewHeader("User-Agent", s.cfg.userAgent()))
	// Exactly this Content-Type, without parameters: some phones refuse
	// "application/pidf+xml;charset=UTF-8" with 415.
	req.AppendHeader(sipmsg.NewHeader("Content-Type", presence.ContentType(n.Subscription.Event)))
	req.SetBody(n.Body)
	s.route(req, d)
	return req
}

// routeSet is the route set in-dialog requests follow: the dialog's, when
// its SUBSCRIBE came from a trusted proxy; none otherwise, so that a
// Record-Route naming a third host is not obeyed.
func (s *Server) routeSet(d *subDialog) []string {
	if len(d.RouteSet) == 0 {
		return nil
	}
	if src, err := netip.ParseAddrPort(d.Source); err != nil || !netlist.Contains(s.trusted, src.Addr()) {
		return nil
	}
	return d.RouteSet
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
	if transport == "UDP" && len(req.Body())+300 > udpLimit && messageSize(req) > udpLimit && s.Addr("tcp") != "" {
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

// subscriptionState renders the Subscription-State header (RFC 6665 §8.2.3).
func subscriptionState(n presence.Notification) string {
	if n.State == presence.StateTerminated {
		return "terminated;reason=" + n.Reason
	}
	secs := int(n.Expires.Seconds())
	if secs < 0 {
		secs = 0
	}
	return "active;expires=" + strconv.Itoa(secs)
}
