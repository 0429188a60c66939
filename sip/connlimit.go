package sip

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/netlist"
)

// ConnConfig bounds the connections (TCP, TLS, WS, WSS) peers hold open.
// Zero values take the defaults.
type ConnConfig struct {
	// MaxPerAddress caps the connections of one source address; past it a
	// new one is closed at once. Default 32. sip.trusted_proxies are not
	// capped.
	MaxPerAddress int `yaml:"max_per_address"`
	// MaxTotal caps all connections together. Default 10000.
	MaxTotal int `yaml:"max_total"`
	// IdleTimeout closes a connection that sent nothing for that long,
	// such as one holding a message that never completes. It must exceed
	// the longest registration (registrar.max_expires), since a phone on
	// TCP may say nothing until it registers again. Default 2h10m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MessageTimeout closes a connection whose message (or, on a new
	// connection, the first message, TLS handshake included; on WebSocket,
	// the HTTP upgrade) has not arrived whole this long after its first
	// byte: a slow drip of bytes does not hold it for IdleTimeout.
	// Default 30s, about a transaction's lifetime (64·T1).
	MessageTimeout time.Duration `yaml:"message_timeout"`
}

func (c ConnConfig) withDefaults() ConnConfig {
	if c.MaxPerAddress <= 0 {
		c.MaxPerAddress = 32
	}
	if c.MaxTotal <= 0 {
		c.MaxTotal = 10000
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2*time.Hour + 10*time.Minute
	}
	if c.MessageTimeout <= 0 {
		c.MessageTimeout = 30 * time.Second
	}
	return c
}

// connLimiter counts the open connections per source address and in all.
type connLimiter struct {
	cfg     ConnConfig
	exempt  []netip.Prefix
	refused func(limit string)

	mu      sync.Mutex
	perAddr map[netip.Addr]int
	total   int
}

// acquire counts a new connection from addr, or returns the limit it
// would pass.
func (l *connLimiter) acquire(addr netip.Addr) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	capped := !netlist.Contains(l.exempt, addr)
	switch {
	case l.total >= l.cfg.MaxTotal:
		return "sip.connections.max_total", false
	case capped && l.perAddr[addr] >= l.cfg.MaxPerAddress:
		return "sip.connections.max_per_address", false
	}
	l.total++
	l.perAddr[addr]++
	return "", true
}

func (l *connLimiter) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perAddr[addr]--; l.perAddr[addr] <= 0 {
		delete(l.perAddr, addr)
	}
}

// limitedListener admits connections within the limiter's caps.
type limitedListener struct {
	net.Listener
	lim *connLimiter
	// upgrade: the first message is an HTTP upgrade (WebSocket), whole
	// once the server writes its answer.
	upgrade bool
}

// Accept implements net.Listener: a connection past a cap is closed at
// once, counted, and the next one accepted.
func (l limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		addr := ap.Addr().Unmap()
		if limit, ok := l.lim.acquire(addr); !ok {
			l.lim.refused(limit)
			c.Close()
			continue
		}
		lc := &limitedConn{Conn: c, idle: l.lim.cfg.IdleTimeout, upgrade: l.upgrade, release: func() { l.lim.release(addr) }}
		lc.pending.Store(time.Now().Add(l.lim.cfg.MessageTimeout).UnixNano())
		return lc, nil
	}
}

// limitedConn is an admitted connection: reads time out when idle or when
// a message in progress is late, and closing gives its place back.
type limitedConn struct {
	net.Conn
	idle    time.Duration
	once    sync.Once
	release func()
	// pending is when the message being received must be whole, in Unix
	// nanoseconds, 0 between messages; framedConn keeps it for TCP and TLS.
	pending atomic.Int64
	upgrade bool
}

// Read implements net.Conn, with the idle and message timeouts.
func (c *limitedConn) Read(b []byte) (int, error) {
	deadline := time.Now().Add(c.idle)
	if p := c.pending.Load(); p != 0 && p < deadline.UnixNano() {
		deadline = time.Unix(0, p)
	}
	c.Conn.SetReadDeadline(deadline)
	return c.Conn.Read(b)
}

// Write implements net.Conn: the answer to a WebSocket upgrade ends the
// message timeout, which the upgrade request was under.
func (c *limitedConn) Write(b []byte) (int, error) {
	if c.upgrade && c.pending.Load() != 0 {
		c.pending.Store(0)
	}
	return c.Conn.Write(b)
}

// Close implements net.Conn.
func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
