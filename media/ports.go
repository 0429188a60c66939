package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned when every RTP port of the range is taken.
var ErrNoPorts = errors.New("no free RTP port")

// udpBuffer sizes each RTP socket's buffers: a few hundred packets.
const udpBuffer = 256 << 10

// portPool hands out RTP/RTCP port pairs from a range, round robin, so a
// port just released is not reused at once (late packets of the last
// call would land in the next).
type portPool struct {
	ip       netip.Addr
	min, max int // even min; pairs (p, p+1) with p+1 <= max

	mu   sync.Mutex
	next int
}

func newPortPool(ip netip.Addr, min, max int) *portPool {
	if min%2 == 1 {
		min++
	}
	return &portPool{ip: ip, min: min, max: max, next: min}
}

// open binds the next free pair.
func (p *portPool) open() (rtp, rtcp *net.UDPConn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pairs := (p.max - p.min + 1) / 2
	for range pairs {
		port := p.next
		p.next += 2
		if p.next+1 > p.max {
			p.next = p.min
		}
		rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err != nil {
			continue
		}
		rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1))))
		if err != nil {
			rtp.Close()
			continue
		}
		rtp.SetReadBuffer(udpBuffer)
		rtp.SetWriteBuffer(udpBuffer)
		return rtp, rtcp, nil
	}
	return nil, nil, ErrNoPorts
}
