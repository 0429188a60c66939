package sip

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// framed returns l with each connection's stream cut into messages
// before sipgo's TCP or TLS transport reads it (framedConn).
func (s *Server) framed(l net.Listener) net.Listener {
	return framedListener{Listener: l, s: s}
}

type framedListener struct {
	net.Listener
	s *Server
}

// Accept implements net.Listener.
func (l framedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return &framedConn{Conn: c, s: l.s, src: ap.Addr().Unmap(), limit: limitedOf(c),
		timeout: l.s.conns.cfg.MessageTimeout}, nil
}

// limitedOf finds the limitedConn under c, through TLS.
func limitedOf(c net.Conn) *limitedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, _ := c.(*limitedConn)
	return lc
}

// framedConn cuts what a peer sends on a stream into messages, framed by
// Content-Length (RFC 3261 §18.3), before sipgo reads it: each message goes
// through screen, and one it refuses is answered on the connection and
// never reaches sipgo. A message must arrive whole within timeout of its
// first byte (and a new connection's first message within timeout of the
// connection, limitedListener starts that clock), or the connection is
// closed: a slow drip of bytes does not keep it open for the idle timeout.
type framedConn struct {
	net.Conn
	s       *Server
	src     netip.Addr
	limit   *limitedConn // its read deadline carries the message's
	timeout time.Duration

	buf     []byte   // received, not yet a whole message
	ready   [][]byte // messages and keep-alives for sipgo, one per Read
	scratch []byte
}

// Read implements net.Conn: one message (or keep-alive) at a time, in
// parts when b is too small.
func (c *framedConn) Read(b []byte) (int, error) {
	for len(c.ready) == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(b, c.ready[0])
	if c.ready[0] = c.ready[0][n:]; len(c.ready[0]) == 0 {
		c.ready = c.ready[1:]
	}
	return n, nil
}

// fill reads once from the connection and frames what has arrived.
func (c *framedConn) fill() error {
	if c.scratch == nil {
		c.scratch = make([]byte, 16<<10)
	}
	n, err := c.Conn.Read(c.scratch)
	c.buf = append(c.buf, c.scratch[:n]...)
	for len(c.buf) > 0 {
		// CRLF keep-alives (RFC 5626 §3.5.1) go on alone, as sipgo
		// answers a double CRLF only when it comes so.
		if ka := len(c.buf) - len(bytes.TrimLeft(c.buf, "\r\n")); ka > 0 {
			c.ready = append(c.ready, append([]byte(nil), c.buf[:ka]...))
			c.buf = c.buf[ka:]
			continue
		}
		size, v := frame(c.buf)
		switch {
		case v.code > 0: // unframeable: answer, then nothing after it can be read
			if answer := c.s.refuse(c.buf, v, c.src); answer != nil {
				c.Conn.Write(answer)
			}
			c.buf = nil
			c.Conn.Close()
			return net.ErrClosed
		case size == 0: // incomplete
			if c.limit != nil && c.limit.pending.Load() == 0 {
				c.expect(time.Now())
			}
			return err
		}
		msg, answer := c.s.screen(c.buf[:size], netip.AddrPortFrom(c.src, 0), 0)
		if msg != nil {
			c.ready = append(c.ready, append([]byte(nil), msg...))
		} else if answer != nil {
			c.Conn.Write(answer)
		}
		c.buf = c.buf[size:]
		if c.limit != nil {
			c.limit.pending.Store(0)
		}
	}
	c.buf = nil // let a large message's memory go
	return err
}

// expect starts the clock of a message that began at now.
func (c *framedConn) expect(now time.Time) {
	if c.limit != nil {
		c.limit.pending.Store(now.Add(c.timeout).UnixNano())
	}
}

// frame returns the size of the whole message at the start of buf, 0 when
// more must arrive, or the answer to a message whose length cannot be
// known or passes sipgo's largest (413-like 513, RFC 3261 §21.5.14).
func frame(buf []byte) (int, verdict) {
	maxSize := sipmsg.ParseMaxMessageLength
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > maxSize {
			return 0, refusal(513, "Message Too Large")
		}
		return 0, passed
	}
	_, rest, _ := bytes.Cut(buf[:end], []byte("\r\n"))
	fields, _ := unfold(rest)
	length, seen := 0, false
	for _, f := range fields {
		name, value, ok := splitField(f)
		if !ok || kindOf(name) != hContentLength {
			continue
		}
		v, ok := decimal(value, 1<<31-1)
		switch {
		case seen:
			return 0, refusal(400, "Multiple Content-Length headers")
		case !ok:
			return 0, refusal(400, "Malformed Content-Length")
		}
		length, seen = int(v), true
	}
	size := end + 4 + length
	switch {
	case size > maxSize:
		return 0, refusal(513, "Message Too Large")
	case size > len(buf):
		return 0, passed
	}
	return size, passed
}
