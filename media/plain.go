package media

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// plainLeg is the call's plain RTP leg toward the agent's phone: one RTP
// socket and one RTCP socket. It sends to the address the phone's RTP
// comes from once a packet arrives (symmetric RTP, latching: phones
// behind NAT announce an address nobody can reach), to the SDP's until
// then.
type plainLeg struct {
	rtp, rtcp *net.UDPConn
	local     netip.AddrPort
	ssrc      uint32

	dest     atomic.Pointer[netip.AddrPort] // where RTP goes; nil: nowhere yet
	rtcpDest atomic.Pointer[netip.AddrPort]
	latch    atomic.Bool  // the next RTP packet's source becomes dest
	sending  atomic.Bool  // our direction toward the phone allows sending
	quiet    atomic.Bool  // the phone's direction means it sends nothing (hold)
	lastRx   atomic.Int64 // unix nanoseconds of the last RTP or RTCP received
	packets  atomic.Uint32
	octets   atomic.Uint32
	lastTS   atomic.Uint32 // RTP timestamp of the last packet sent
	rx       reception     // of the phone's stream

	mu     sync.Mutex // serialises SDP changes
	remote remote
}

func newPlainLeg(rtpConn, rtcpConn *net.UDPConn) *plainLeg {
	l := &plainLeg{rtp: rtpConn, rtcp: rtcpConn, ssrc: rand.Uint32(),
		local: rtpConn.LocalAddr().(*net.UDPAddr).AddrPort(), rx: reception{clock: 8000}}
	l.lastRx.Store(time.Now().UnixNano())
	return l
}

// apply takes the phone's SDP (answer or new offer) into account.
func (l *plainLeg) apply(r remote) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.rtp != l.remote.rtp {
		rtpAddr, rtcpAddr := r.rtp, r.rtcp
		l.dest.Store(&rtpAddr)
		l.rtcpDest.Store(&rtcpAddr)
		l.latch.Store(true)
	}
	l.remote = r
	l.sending.Store(r.direction == sendrecv || r.direction == recvonly)
	l.quiet.Store(r.direction == recvonly || r.direction == inactive)
	l.lastRx.Store(time.Now().UnixNano())
}

// send writes one RTP packet to the phone, unless it is on hold, and
// reports whether it went out.
func (l *plainLeg) send(pkt []byte) bool {
	dest := l.dest.Load()
	if dest == nil || !l.sending.Load() {
		return false
	}
	if _, err := l.rtp.WriteToUDPAddrPort(pkt, *dest); err != nil {
		return false
	}
	l.packets.Add(1)
	l.octets.Add(uint32(len(pkt) - 12))
	l.lastTS.Store(binary.BigEndian.Uint32(pkt[4:8]))
	return true
}

// received notes a packet from the phone at from, latching to it.
func (l *plainLeg) received(from netip.AddrPort) {
	l.lastRx.Store(time.Now().UnixNano())
	if l.latch.Load() {
		d := l.dest.Load()
		if d == nil || *d != from {
			rtcpAddr := netip.AddrPortFrom(from.Addr(), from.Port()+1)
			l.dest.Store(&from)
			l.rtcpDest.Store(&rtcpAddr)
		}
		l.latch.Store(false)
	}
}

// idle reports whether the phone sent nothing for d although it should.
func (l *plainLeg) idle(d time.Duration, now time.Time) bool {
	return !l.quiet.Load() && now.Sub(time.Unix(0, l.lastRx.Load())) > d
}

// readRTCP counts the phone's RTCP as activity until the socket closes.
// Reports are not forwarded: each leg has its own (RFC 3550 §7.1, a
// translator that changes SSRCs terminates RTCP).
func (l *plainLeg) readRTCP() {
	buf := make([]byte, 1500)
	for {
		_, from, err := l.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if d := l.rtcpDest.Load(); d != nil && d.Addr() == from.Addr() {
			l.rtcpDest.Store(&from) // symmetric RTCP
		}
		l.lastRx.Store(time.Now().UnixNano())
	}
}

// report sends our sender report toward the phone, with the reception
// statistics of the phone's stream.
func (l *plainLeg) report(now time.Time) {
	dest := l.rtcpDest.Load()
	if dest == nil || l.packets.Load() == 0 {
		return
	}
	b, err := rtcp.Marshal(senderReport(l.ssrc, now, l.lastTS.Load(), l.packets.Load(), l.octets.Load(), &l.rx))
	if err == nil {
		l.rtcp.WriteToUDPAddrPort(b, *dest)
	}
}

// close releases both sockets, ending their readers.
func (l *plainLeg) close() {
	l.rtp.Close()
	l.rtcp.Close()
}
