package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/presence"
)

// exchange is one request being answered.
type exchange struct {
	s        *Server
	req      *sipmsg.Request
	tx       sipmsg.ServerTransaction
	ctx      context.Context
	log      *slog.Logger
	start    time.Time // when its handler started
	answered bool      // a final response went out
}

// requestTimeout bounds the work behind one answer; a UAC gives up after
// 64·T1 anyway.
const requestTimeout = 30 * time.Second

// handle wraps a method handler with what every request goes through: the
// flood admission (503, or silence), the drain (503), the RFC 3261 checks,
// a recovery that turns a panic into a 500 instead of a crash, and the
// count of requests in hand and of their answers' latency that the
// overload admission judges by (settle).
func (s *Server) handle(fn func(x *exchange)) func(*sipmsg.Request, sipmsg.ServerTransaction) {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		s.unanswered.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		x := &exchange{s: s, req: req, tx: tx, ctx: ctx, log: s.peerLog, start: time.Now()}
		defer x.settle()
		switch s.flood.admit(sourceAddr(req), time.Now()) {
		case refuse:
			s.metrics.refused.WithLabelValues("sip.flood.rate").Inc()
			x.respond(503, "Too Many Requests From This Address", nil, sipmsg.NewHeader("Retry-After", "1"))
			return
		case drop: // no answer, and no transaction kept waiting for one
			s.metrics.refused.WithLabelValues("sip.flood.drop").Inc()
			if tx != nil {
				tx.Terminate()
			}
			return
		}
		if s.draining.Load() {
			x.respond(503, "Shutting Down", nil, sipmsg.NewHeader("Retry-After", "5"))
			return
		}
		if x.answeredAlready() {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("sip handler panic", "method", req.Method, "call_id", callID(req), "panic", r)
				x.respond(500, "Server Internal Error", nil)
			}
		}()
		if code, reason := checkRequest(req); code != 0 {
			x.respond(code, reason, nil)
			return
		}
		fn(x)
	}
}

// checkRequest applies RFC 3261 §8.2 to any request: it returns 0 when the
// request may be handled, or the status and reason to refuse it with.
func checkRequest(req *sipmsg.Request) (int, string) {
	switch {
	case req.From() == nil:
		return 400, "Missing From header"
	case req.To() == nil:
		return 400, "Missing To header"
	case req.CallID() == nil || *req.CallID() == "":
		return 400, "Missing Call-ID header"
	case req.CSeq() == nil:
		return 400, "Missing CSeq header"
	case req.CSeq().MethodName != req.Method && !knownMethod(req.Method):
		return 501, "Not Implemented" // RFC 4475 §3.1.2.17: the unknown method first
	case req.CSeq().MethodName != req.Method:
		return 400, "CSeq method does not match request method"
	case req.Recipient.Scheme != "sip" && req.Recipient.Scheme != "sips":
		return 416, "Unsupported URI Scheme"
	}
	if len(unsupported(req)) > 0 {
		return 420, "Bad Extension"
	}
	return 0, ""
}

// unsupported lists the option tags req's Require names that it does not
// get (RFC 3261 §8.2.2.3): any, but path in a REGISTER (RFC 3327).
func unsupported(req *sipmsg.Request) []string {
	var tags []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range splitList(h.Value()) {
			if req.Method != sipmsg.REGISTER || !strings.EqualFold(tag, "path") {
				tags = append(tags, tag)
			}
		}
	}
	return tags
}

// respond sends a final or provisional response with an exact
// Content-Length (also 0), adding a To tag where RFC 3261 §8.2.6.2 asks
// for one.
func (x *exchange) respond(code int, reason string, body []byte, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(x.req, code, reason, nil)
	if code > 100 {
		if to := res.To(); to != nil {
			if _, ok := to.Params.Get("tag"); !ok {
				to.Params.Add("tag", sipmsg.GenerateTagN(16))
			}
		}
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if code == 420 {
		res.AppendHeader(sipmsg.NewHeader("Unsupported", strings.Join(unsupported(x.req), ", ")))
	}
	if code == 405 || code == 489 || code/100 == 2 {
		res.AppendHeader(sipmsg.NewHeader("Allow", strings.Join(x.s.methods, ", ")))
	}
	res.AppendHeader(sipmsg.NewHeader("Server", x.s.cfg.userAgent()))
	if code >= 300 {
		res.RemoveHeader("Record-Route") // only dialogs use it (RFC 3261 §12.1.1)
	}
	res.SetBody(body)
	err := x.tx.Respond(res)
	if errors.Is(err, sipmsg.ErrUDPMTUCongestion) {
		err = x.s.sendOversized(res, x.req)
	}
	if err == nil && code >= 200 {
		x.keepAnswer(res)
	}
	if err != nil {
		x.log.Warn("sip respond failed", "method", x.req.Method, "status", code, "call_id", callID(x.req), "error", err)
	}
	if code >= 200 {
		x.s.metrics.answered(x.req.Method, code)
		x.s.metrics.took(x.req.Method, time.Since(x.start))
		x.settle()
	}
}

// keepAnswer hands the final response of a non-INVITE request that came
// over UDP to the answered cache, which answers its retransmissions from
// now on, and ends sipgo's server transaction, which would otherwise keep
// the request and the response for Timer J.
func (x *exchange) keepAnswer(res *sipmsg.Response) {
	if x.tx == nil {
		return
	}
	if key, _, ok := x.udpTransaction(); ok {
		x.s.answered.put(key, []byte(res.String()), time.Now())
		x.tx.Terminate()
	}
}

// answeredAlready answers a retransmission that passed the screen while
// its original was being answered, and so reached sipgo after the
// original's transaction ended (keepAnswer): it gets the answer kept for
// the original, and is not handled a second time (a PUBLISH handled twice
// is a replayed nonce count to the digest check, answered 401).
func (x *exchange) answeredAlready() bool {
	key, src, ok := x.udpTransaction()
	if !ok || x.s.udp == nil {
		return false
	}
	res := x.s.answered.get(key, time.Now())
	if res == nil {
		return false
	}
	x.s.udp.conn.WriteToUDPAddrPort(res, src)
	if x.tx != nil {
		x.tx.Terminate()
	}
	return true
}

// udpTransaction is the answered cache's key of a non-INVITE request that
// came over UDP, and its source; ok is false for any other request.
func (x *exchange) udpTransaction() (key uint64, src netip.AddrPort, ok bool) {
	if x.req.Transport() != "UDP" || x.req.Method == sipmsg.INVITE {
		return 0, src, false
	}
	src, err := netip.ParseAddrPort(x.req.Source())
	via := x.req.Via()
	if err != nil || via == nil {
		return 0, src, false
	}
	branch, _ := via.Params.Get("branch")
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	return transactionKey([]byte(x.req.Method), []byte(branch), src), src, true
}

// settle counts the request answered, once: its first final response,
// or the end of its handler without one. Its latency feeds the admission.
func (x *exchange) settle() {
	if x.answered {
		return
	}
	x.answered = true
	now := time.Now()
	x.s.admit.done(now.Sub(x.start), x.s.unanswered.Add(-1), now)
}

// expires returns the request's Expires header, nil when absent, or an
// error for a value that is not a number of seconds.
func expires(req *sipmsg.Request) (*time.Duration, error) {
	h := req.GetHeader("Expires")
	if h == nil {
		return nil, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid Expires %q", h.Value())
	}
	d := time.Duration(n) * time.Second
	return &d, nil
}

func expiresHeader(d time.Duration) sipmsg.Header {
	return sipmsg.NewHeader("Expires", strconv.Itoa(int(d.Round(time.Second)/time.Second)))
}

// canonicalAOR turns a SIP URI into the form the domains key by:
// "sip:user@host" with the host lower-cased and parameters dropped.
func canonicalAOR(u sipmsg.Uri) string {
	return "sip:" + u.User + "@" + strings.ToLower(u.Host)
}

func callID(req *sipmsg.Request) string {
	if c := req.CallID(); c != nil {
		return string(*c)
	}
	return ""
}

func (s *Server) onOptions(x *exchange) {
	x.respond(200, "OK", nil, sipmsg.NewHeader("Accept", pidfType+", "+presence.ContentType(presence.EventDialog)),
		sipmsg.NewHeader("Allow-Events", allowEvents))
}

// onNoRoute answers a method no role serves: 405 with Allow for a SIP
// method, 501 for one nobody defined (RFC 3261 §21.5.2). Max-Forwards is
// not looked at: every role here is a user agent server, which processes a
// request that has no hops left (RFC 4475 §3.3.11).
func (s *Server) onNoRoute(x *exchange) {
	if !knownMethod(x.req.Method) {
		x.respond(501, "Not Implemented", nil)
		return
	}
	x.respond(405, "Method Not Allowed", nil)
}

// knownMethod reports whether m is a method some RFC defines.
func knownMethod(m sipmsg.RequestMethod) bool {
	switch m {
	case sipmsg.INVITE, sipmsg.ACK, sipmsg.CANCEL, sipmsg.BYE, sipmsg.OPTIONS, sipmsg.REGISTER, sipmsg.PRACK,
		sipmsg.SUBSCRIBE, sipmsg.NOTIFY, sipmsg.PUBLISH, sipmsg.INFO, sipmsg.REFER, sipmsg.MESSAGE, sipmsg.UPDATE:
		return true
	}
	return false
}

// sendOversized sends over UDP an answer sipgo will not (it refuses any
// datagram past 1300 bytes, a rule RFC 3261 §18.1.1 sets for requests
// only): from the listening socket to where the request came from, as
// §18.2.2 asks. Only a request that was itself that large can need it.
func (s *Server) sendOversized(res *sipmsg.Response, req *sipmsg.Request) error {
	s.mu.Lock()
	udp := s.udp
	s.mu.Unlock()
	addr, err := net.ResolveUDPAddr("udp", req.Source())
	if err != nil || udp == nil || req.Transport() != "UDP" {
		return fmt.Errorf("%w: not sent over UDP", sipmsg.ErrUDPMTUCongestion)
	}
	_, err = udp.conn.WriteTo([]byte(res.String()), addr)
	return err
}
