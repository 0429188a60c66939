package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/calls"
)

// Bridge is the media of a callback: two plain RTP legs, the agent's
// phone and the trunk toward the visitor, relayed to each other without
// transcoding. It implements calls.PhoneMedia.
type Bridge struct {
	e            *Engine
	agent, trunk *bridgeLeg
	law          atomic.Pointer[codec] // the agent's choice; the trunk is offered only it
	ringing      atomic.Bool           // the ringback tone was started
	done         chan struct{}
	endOnce      sync.Once
	closeOnce    sync.Once
	wg           sync.WaitGroup
}

// bridgeLeg is one side of a Bridge.
type bridgeLeg struct {
	*plainLeg
	sessID    uint64
	version   atomic.Uint64
	eventPT   atomic.Int32 // the phone's telephone-event; -1 none
	connected atomic.Bool
}

var (
	_               calls.Bridger    = (*Engine)(nil)
	_               calls.PhoneMedia = (*Bridge)(nil)
	errNotConnected                  = errors.New("media: the agent's leg is not connected")
)

// Bridge implements calls.Bridger.
func (e *Engine) Bridge() (calls.PhoneMedia, error) {
	if err := e.admit(); err != nil {
		return nil, err
	}
	var legs [2]*bridgeLeg
	for i := range legs {
		rtpConn, rtcpConn, err := e.ports.open()
		if err != nil {
			if i == 1 {
				legs[0].close()
			}
			e.release()
			return nil, fmt.Errorf("media: %w", err)
		}
		legs[i] = &bridgeLeg{plainLeg: newPlainLeg(rtpConn, rtcpConn), sessID: rand.Uint64() >> 1}
		legs[i].eventPT.Store(-1)
	}
	b := &Bridge{e: e, agent: legs[0], trunk: legs[1], done: make(chan struct{})}
	b.wg.Add(5)
	go b.relay(b.agent, b.trunk, &e.phoneToPhone)
	go b.relay(b.trunk, b.agent, &e.phoneToPhone)
	go func() { defer b.wg.Done(); b.agent.readRTCP() }()
	go func() { defer b.wg.Done(); b.trunk.readRTCP() }()
	go b.watch()
	return b, nil
}

// AgentOffer implements calls.PhoneMedia: both laws and telephone-event.
func (b *Bridge) AgentOffer() []byte {
	return b.offer(b.agent, []codec{pcmu, pcma})
}

// offer renders l's SDP offering laws.
func (b *Bridge) offer(l *bridgeLeg, laws []codec) []byte {
	return localSDPLaws(l.sessID, l.version.Load(), l.local.Addr(), int(l.local.Port()), laws, eventPT, sendrecv)
}

// ConnectAgent implements calls.PhoneMedia.
func (b *Bridge) ConnectAgent(answer []byte) error {
	law, r, err := parseAnswerLaw(answer, []codec{pcmu, pcma})
	if err != nil {
		return fmt.Errorf("agent answer: %w", err)
	}
	b.law.Store(&law)
	b.agent.take(r)
	return nil
}

// TrunkOffer implements calls.PhoneMedia: the agent's law only.
func (b *Bridge) TrunkOffer() []byte {
	law := b.law.Load()
	if law == nil {
		law = &pcmu
	}
	return b.offer(b.trunk, []codec{*law})
}

// ConnectTrunk implements calls.PhoneMedia, for early media and the answer.
func (b *Bridge) ConnectTrunk(sdp []byte) error {
	law := b.law.Load()
	if law == nil {
		return errNotConnected
	}
	r, err := parseRemote(sdp, *law)
	if err != nil {
		return fmt.Errorf("trunk answer: %w", err)
	}
	b.trunk.take(r)
	return nil
}

// ReofferAgent implements calls.PhoneMedia.
func (b *Bridge) ReofferAgent(offer []byte) ([]byte, error) { return b.reoffer(b.agent, offer) }

// ReofferTrunk implements calls.PhoneMedia.
func (b *Bridge) ReofferTrunk(offer []byte) ([]byte, error) { return b.reoffer(b.trunk, offer) }

func (b *Bridge) reoffer(l *bridgeLeg, offer []byte) ([]byte, error) {
	law := b.law.Load()
	if law == nil {
		return nil, errNotConnected
	}
	r, err := parseRemote(offer, *law)
	if err != nil {
		return nil, err
	}
	l.take(r)
	v := l.version.Add(1)
	return localSDP(l.sessID, v, l.local.Addr(), int(l.local.Port()), *law, r.eventPT, mirror(r.direction)), nil
}

// take applies the phone's SDP to the leg.
func (l *bridgeLeg) take(r remote) {
	l.eventPT.Store(int32(r.eventPT))
	l.apply(r)
	l.connected.Store(true)
}

// relay forwards from's RTP to to: our SSRC, continuous numbering, the
// event payload type mapped, nothing else than the call's law.
func (b *Bridge) relay(from, to *bridgeLeg, count *atomic.Uint64) {
	defer b.wg.Done()
	rw := NewRewriter(to.ssrc, 8000, time.Now)
	buf, out := make([]byte, 1500), make([]byte, 1500)
	var p rtp.Packet
	for {
		n, src, err := from.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		law := b.law.Load()
		if law == nil || !from.connected.Load() {
			continue
		}
		from.received(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()))
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		switch int32(p.PayloadType) {
		case int32(law.pt):
		case from.eventPT.Load():
			pt := to.eventPT.Load()
			if pt < 0 {
				continue
			}
			p.PayloadType = uint8(pt)
		default:
			continue
		}
		p.Extension, p.Extensions, p.CSRC = false, nil, nil
		if !to.connected.Load() || !rw.Rewrite(&p.Header) {
			continue
		}
		if m, err := p.MarshalTo(out); err == nil && to.send(out[:m]) {
			count.Add(1)
		}
	}
}

// watch ends the bridge when a connected leg goes quiet, and sends RTCP
// sender reports on both legs.
func (b *Bridge) watch() {
	defer b.wg.Done()
	tick := time.NewTicker(min(time.Second, b.e.cfg.Timeout/4))
	defer tick.Stop()
	var lastReport time.Time
	for {
		select {
		case <-b.done:
			return
		case now := <-tick.C:
			for _, l := range []*bridgeLeg{b.agent, b.trunk} {
				if l.connected.Load() && l.idle(b.e.cfg.Timeout, now) {
					b.end()
				}
			}
			if now.Sub(lastReport) >= reportInterval {
				b.agent.report(now)
				b.trunk.report(now)
				lastReport = now
			}
		}
	}
}

// Done implements calls.PhoneMedia.
func (b *Bridge) Done() <-chan struct{} { return b.done }

func (b *Bridge) end() { b.endOnce.Do(func() { close(b.done) }) }

// Close implements calls.PhoneMedia.
func (b *Bridge) Close() {
	b.closeOnce.Do(func() {
		b.end()
		b.agent.close()
		b.trunk.close()
		b.wg.Wait()
		b.e.release()
	})
}
