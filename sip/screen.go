package sip

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// maxRefusalBytes bounds an answer screen writes itself: one datagram
// that needs no fragment, whatever the refused message copied into it.
const maxRefusalBytes = udpLimit

// screen reads one message before sipgo does (inspect) and admits a
// request only while the server answers in time (admission): it returns
// the message to hand on, or nil and the answer to send back to its
// source (nil too when the message gets none).
// A retransmission of a request answered over UDP gets that answer again
// (answered); a response to a request udpClient sent goes to it.
//
// waited is how long the message waited in the socket before it was read,
// 0 when unknown.
func (s *Server) screen(data []byte, src netip.AddrPort, waited time.Duration) (msg, answer []byte) {
	msg, v := inspect(data)
	if v != passed {
		return nil, s.refuse(data, v, src.Addr())
	}
	if bytes.HasPrefix(msg, []byte("SIP/")) {
		if s.udp != nil && s.udp.answer(msg) {
			return nil, nil
		}
		return msg, nil
	}
	now := time.Now()
	key := requestKey(msg, src)
	if res := s.answered.get(key, now); res != nil {
		return nil, res
	}
	method, _, _ := bytes.Cut(msg, []byte(" "))
	if why := s.admit.admit(method, key, s.unanswered.Load(), waited, now); why != inTime {
		return nil, s.overloaded(msg, method, why)
	}
	return msg, nil
}

// overloaded counts a request the admission refused and returns its 503.
func (s *Server) overloaded(msg, method []byte, why string) []byte {
	s.metrics.refused.WithLabelValues("sip.overload").Inc()
	s.metrics.answered(sipmsg.RequestMethod(method), 503)
	retry := strconv.Itoa(int(s.cfg.Overload.RetryAfter / time.Second))
	return refusalMessage(msg, refusal(503, "Server Overloaded"), s.cfg.userAgent(),
		"Retry-After: "+retry, `Warning: 399 - "sip.overload: `+why+`"`)
}

// refuse counts and logs (at debug) a message refused before parsing and
// returns its answer, if it gets one. Refusals go through the flood
// admission, so that malformed messages cost a flooding source as much as
// well-formed ones.
func (s *Server) refuse(data []byte, v verdict, src netip.Addr) []byte {
	var answer []byte
	status := "dropped"
	if v.code > 0 && s.flood.admit(src, time.Now()) == admitted {
		answer = refusalMessage(data, v, s.cfg.userAgent())
	}
	if answer != nil {
		status = strconv.Itoa(v.code)
	}
	s.metrics.requests.WithLabelValues("malformed", status).Inc()
	s.peerLog.Debug("sip message refused before parsing", "source", src, "status", status,
		"reason", v.reason, "data", string(data))
	return answer
}

// refusalMessage builds the answer to a request refused before parsing:
// its Via, From, To, Call-ID and CSeq lines as they came (RFC 3261
// §8.2.6.2), a To tag, the reason, the extra header lines, no body. It is
// nil when there is no Via to answer by or when the answer would pass
// maxRefusalBytes.
func refusalMessage(data []byte, v verdict, agent string, extra ...string) []byte {
	head, _, _ := bytes.Cut(bytes.TrimLeft(data, "\r\n"), []byte("\r\n\r\n"))
	_, rest, _ := bytes.Cut(head, []byte("\r\n"))
	fields, _ := unfold(rest)
	b := make([]byte, 0, min(len(head)+256, maxRefusalBytes+1))
	b = append(append(append(append(append(b, "SIP/2.0 "...), strconv.Itoa(v.code)...), ' '), v.reason...), "\r\n"...)
	header := func(name string, value ...[]byte) {
		b = append(append(b, name...), ": "...)
		for _, part := range value {
			b = append(b, part...)
		}
		b = append(b, "\r\n"...)
	}
	vias := 0
	for _, f := range fields {
		name, value, ok := splitField(f)
		if !ok {
			continue
		}
		switch kind := kindOf(name); kind {
		case hVia:
			vias++
			fallthrough
		case hFrom, hCallID, hCSeq:
			header(headerNames[kind], value)
		case hTo:
			if hasTag(value) {
				header("To", value)
			} else {
				header("To", value, []byte(";tag="+sipmsg.GenerateTagN(16)))
			}
		}
	}
	if v.code == 505 {
		b = append(b, "Warning: 399 - \"SIP/2.0 only\"\r\n"...)
	}
	for _, h := range extra {
		b = append(append(b, h...), "\r\n"...)
	}
	b = append(append(append(b, "Server: "...), agent...), "\r\nContent-Length: 0\r\n\r\n"...)
	if vias == 0 || len(b) > maxRefusalBytes {
		return nil
	}
	return b
}

// hasTag reports whether a To or From value carries a tag parameter.
func hasTag(value []byte) bool {
	const tag = ";tag="
	for i := 0; i+len(tag) <= len(value); i++ {
		if bytes.EqualFold(value[i:i+len(tag)], []byte(tag)) {
			return true
		}
	}
	return false
}

// screenedPacketConn hands sipgo's UDP transport only the datagrams
// screen passes; it answers the others itself, to their source address,
// which a malformed Via cannot redirect. Each datagram's wait in the
// socket is read from the kernel's arrival stamp where there is one.
// One goroutine reads it (sipgo's reader).
type screenedPacketConn struct {
	*net.UDPConn
	screen  func(data []byte, src netip.AddrPort, waited time.Duration) (msg, answer []byte)
	stamped bool   // the kernel stamps arrivals (stampArrivals)
	oob     []byte // room for the stamp
}

func newScreenedPacketConn(c *net.UDPConn, screen func([]byte, netip.AddrPort, time.Duration) ([]byte, []byte)) *screenedPacketConn {
	return &screenedPacketConn{UDPConn: c, screen: screen, stamped: stampArrivals(c), oob: make([]byte, stampSpace)}
}

// ReadFrom implements net.PacketConn.
func (c *screenedPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, oobn, _, src, err := c.ReadMsgUDPAddrPort(b, c.oob)
		if err != nil {
			return n, nil, err
		}
		var waited time.Duration
		if t, ok := arrival(c.oob[:oobn]); ok {
			waited = time.Since(t)
		}
		addr := net.UDPAddrFromAddrPort(src)
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		msg, answer := c.screen(b[:n], src, waited)
		if msg != nil && len(msg) <= len(b) { // a rewritten message may have grown by a branch
			return copy(b, msg), addr, nil
		}
		if answer != nil {
			c.WriteTo(answer, addr)
		}
	}
}
