package calltest

import (
	"net"
	"sync/atomic"
	"testing"
)

// Relay is a UDP path between a browser and a server's ICE that a test
// can cut, as a NAT or a Wi-Fi network carries it and then goes away: the
// browser is shown the server's candidate as ToBrowser's address, the
// server the browser's as ToServer's, and each packet received on one
// goes out of the other to the last address heard on that side (or the
// one stored in Browser or Server). Once Cut it carries nothing.
type Relay struct {
	ToBrowser, ToServer *net.UDPConn
	Browser, Server     atomic.Pointer[net.UDPAddr]
	Cut                 atomic.Bool
	Packets             atomic.Uint64 // carried
}

// NewRelay opens a Relay on two loopback ports, closed when the test ends.
func NewRelay(t testing.TB) *Relay {
	t.Helper()
	r := &Relay{}
	for _, c := range []**net.UDPConn{&r.ToBrowser, &r.ToServer} {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		*c = conn
	}
	done := make(chan struct{}, 2)
	forward := func(in, out *net.UDPConn, from, to *atomic.Pointer[net.UDPAddr]) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 1500)
		for {
			n, addr, err := in.ReadFromUDP(buf)
			if err != nil {
				return
			}
			from.Store(addr)
			if dst := to.Load(); dst != nil && !r.Cut.Load() {
				out.WriteToUDP(buf[:n], dst)
				r.Packets.Add(1)
			}
		}
	}
	go forward(r.ToBrowser, r.ToServer, &r.Browser, &r.Server)
	go forward(r.ToServer, r.ToBrowser, &r.Server, &r.Browser)
	t.Cleanup(func() { r.ToBrowser.Close(); r.ToServer.Close(); <-done; <-done })
	return r
}
