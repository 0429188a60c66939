package sip

import (
	"net"
	"net/netip"
	"sync"
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
		return &limitedConn{Conn: c, idle: l.lim.cfg.IdleTimeout, release: func() { l.lim.release(addr) }}, nil
	}
}

// limitedConn is an admitted connection: reads time out when idle, and
// closing gives its place back.
type limitedConn struct {
	net.Conn
	idle    time.Duration
	once    sync.Once
	release func()
}

// Read implements net.Conn, with the idle timeout.
func (c *limitedConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(b)
}

// Close implements net.Conn.
func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
