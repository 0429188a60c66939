package sip

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// One address may hold sip.connections.max_per_address connections: the
// next ones are closed at once, another address is not affected, and a
// closed connection gives its place back.
func TestConnections_CappedPerAddress(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) { c.Connections = ConnConfig{MaxPerAddress: 3} })
	dial := func(from string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", st.srv.Addr("tcp"))
		if err != nil {
			t.Skipf("dial from %s: %v", from, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// open reports whether the server keeps c open: a read that times out
	// rather than ending.
	open := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		return errors.Is(err, os.ErrDeadlineExceeded)
	}
	var conns []net.Conn
	for range 5 {
		conns = append(conns, dial("127.0.0.2"))
	}
	kept := 0
	for i, c := range conns {
		if open(c) {
			kept++
		} else if i < 3 {
			t.Errorf("connection %d closed, within the cap", i+1)
		}
	}
	if kept != 3 {
		t.Errorf("%d of 5 connections kept, want 3", kept)
	}
	if n := testutil.ToFloat64(st.srv.metrics.refused.WithLabelValues("sip.connections.max_per_address")); n != 2 {
		t.Errorf("refused connections counted %v, want 2", n)
	}
	if !open(dial("127.0.0.3")) {
		t.Error("another address was refused")
	}
	conns[0].Close()
	siptest.WaitFor(t, "a place given back", func() bool { return open(dial("127.0.0.2")) })
}

// A connection that sends half a message and then nothing is closed after
// sip.connections.idle_timeout.
func TestConnections_IdleTimeout(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.Connections = ConnConfig{IdleTimeout: 200 * time.Millisecond}
	})
	c, err := net.Dial("tcp", st.srv.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("OPTIONS sip:example.com SIP/2.0\r\nContent-Length: 100000\r\n\r\nnot all of it"))
	c.SetReadDeadline(time.Now().Add(siptest.Wait))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the server kept the idle connection: %v", err)
	}
}
