package media

import (
	"context"
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

var (
	// ErrDeclined is returned by Dial when the agent declined the call
	// in the console (a 603 on a phone).
	ErrDeclined = errors.New("declined in the softphone")
	// ErrSoftphoneBusy is returned by Dial while another call rings or
	// talks on the agent's softphone (a 486 on a phone).
	ErrSoftphoneBusy = errors.New("the softphone has a call already")
)

// softLeg is one call on a softphone, the agent's leg as calls sees it:
// a plain RTP leg that answers the call's agent offer, like a phone,
// and whose packets are relayed to and from the softphone's browser.
//
//	visitor's Session ─RTP─▶ softLeg.plain ─fromPlain─▶ Softphone.track ─SRTP─▶ console
//	visitor's Session ◀─RTP─ softLeg.plain ◀─fromBrowser─ Softphone.onTrack ◀─SRTP─ console
type softLeg struct {
	p       *Softphone
	id      string // the call's or callback's id, as the console names it
	plain   *plainLeg
	remote  remote // the offer's side
	eventPT int32  // telephone-event toward the plain leg; -1 none
	answer  []byte
	h       calls.LegHandler

	toPlain *Rewriter   // the softphone's onTrack goroutine alone uses it
	talking atomic.Bool // answered: relay both ways

	answered, declined      chan struct{}
	answerOnce, declineOnce sync.Once
	hangupOnce              sync.Once
	wg                      sync.WaitGroup

	mu   sync.Mutex // orders start and finish
	over bool       // finished: never starts
}

var _ calls.Leg = (*softLeg)(nil)

// Dial implements calls.Dialer: it rings agent's softphone with o, and
// returns once the agent answered in the console. Cancelling ctx gives up
// (the console is told: cancel); a decline gives ErrDeclined.
func (ps *Softphones) Dial(ctx context.Context, agent string, o calls.Offer, h calls.LegHandler) (calls.Leg, error) {
	p := ps.get(agent)
	if p == nil || !p.live.Load() {
		return nil, fmt.Errorf("dial %s: %w", agent, ErrNoSoftphone)
	}
	l, err := p.ring(ctx, o, h)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", agent, err)
	}
	return l, nil
}

// ring offers o to the console and waits for its answer.
func (p *Softphone) ring(ctx context.Context, o calls.Offer, h calls.LegHandler) (*softLeg, error) {
	r, err := parseRemote(o.SDP, p.law) // no transcoding: the softphone's law or nothing
	if err != nil {
		return nil, fmt.Errorf("the offer does not suit the softphone's %s: %w", p.law.name, err)
	}
	rtpConn, rtcpConn, err := p.ps.e.ports.open()
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	l := p.newLeg(o, r, newPlainLeg(rtpConn, rtcpConn), h)
	p.mu.Lock()
	busy := p.leg != nil
	if !busy {
		p.leg = l
	}
	p.mu.Unlock()
	if busy {
		l.plain.close()
		return nil, ErrSoftphoneBusy
	}
	if err := p.send(ringFrame(l.id, o)); err != nil {
		l.finish()
		return nil, err
	}
	h.Ringing(nil)
	select {
	case <-l.answered:
		if !l.start() { // the softphone went away meanwhile
			return nil, ErrNoSoftphone
		}
		p.send(controlFrame{Type: "talking", Call: l.id})
		return l, nil
	case <-l.declined:
		l.finish()
		return nil, ErrDeclined
	case <-ctx.Done():
		reason := "cancelled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = "no-answer"
		}
		p.send(controlFrame{Type: "cancel", Call: l.id, Reason: reason})
		l.finish()
		return nil, ctx.Err()
	case <-p.done:
		l.finish()
		return nil, ErrNoSoftphone
	}
}

// newLeg prepares the leg of o, answering its offer r like a phone would:
// the softphone's law, telephone-event when both sides take it.
func (p *Softphone) newLeg(o calls.Offer, r remote, plain *plainLeg, h calls.LegHandler) *softLeg {
	id := o.CallID
	if id == "" {
		id = o.CallbackID
	}
	ev := int32(r.eventPT)
	if p.browserEventPT < 0 {
		ev = -1
	}
	l := &softLeg{p: p, id: id, plain: plain, remote: r, eventPT: ev, h: h,
		toPlain: NewRewriter(plain.ssrc, 8000, time.Now), answered: make(chan struct{}), declined: make(chan struct{})}
	l.answer = localSDP(rand.Uint64()>>1, 0, plain.local.Addr(), int(plain.local.Port()), p.law, int(ev), mirror(r.direction))
	return l
}

// start relays both ways, unless the leg finished already.
func (l *softLeg) start() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.over {
		return false
	}
	l.plain.apply(l.remote)
	l.talking.Store(true)
	l.wg.Add(2)
	go l.fromPlain()
	go func() { defer l.wg.Done(); l.plain.readRTCP() }()
	return true
}

// fromBrowser relays one packet of the agent's microphone (or a keypad
// event) to the plain leg; p and out are the caller's scratch space.
func (l *softLeg) fromBrowser(pkt []byte, p *rtp.Packet, out []byte) {
	if p.Unmarshal(pkt) != nil {
		return
	}
	switch int32(p.PayloadType) {
	case int32(l.p.law.pt):
	case l.p.browserEventPT:
		if l.eventPT < 0 {
			return
		}
		p.PayloadType = uint8(l.eventPT)
	default:
		return
	}
	p.Extension, p.Extensions, p.CSRC = false, nil, nil
	if !l.toPlain.Rewrite(&p.Header) {
		return
	}
	if n, err := p.MarshalTo(out); err == nil && l.plain.send(out[:n]) {
		l.p.ps.e.toPhone.Add(1)
	}
}

// fromPlain relays the call's audio and events to the browser, on the
// softphone's one outgoing stream.
func (l *softLeg) fromPlain() {
	defer l.wg.Done()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, from, err := l.plain.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		l.plain.received(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		isEvent := false
		switch int32(p.PayloadType) {
		case int32(l.p.law.pt):
		case l.eventPT:
			isEvent = true
		default:
			continue
		}
		p.Extension, p.Extensions, p.CSRC = false, nil, nil
		l.p.toBrowserMu.Lock()
		ok := l.p.toBrowser.Rewrite(&p.Header) && l.p.track.write(&p.Header, p.Payload, isEvent) == nil
		l.p.toBrowserMu.Unlock()
		if ok {
			l.p.ps.e.toBrowser.Add(1)
		}
	}
}

// Answer implements calls.Leg.
func (l *softLeg) Answer() []byte { return l.answer }

// Hangup implements calls.Leg: the call ended on the other side.
func (l *softLeg) Hangup(context.Context, calls.Cause) error {
	l.p.send(controlFrame{Type: "ended", Call: l.id})
	l.finish()
	return nil
}

// Message implements calls.Leg: the visitor's chat text to the console.
func (l *softLeg) Message(_ context.Context, text string) error {
	return l.p.send(controlFrame{Type: "message", Call: l.id, Text: text})
}

// hungUpByAgent ends a call the agent hung up (or whose softphone went
// away): calls hears it once it talked; a ring just ends.
func (l *softLeg) hungUpByAgent() {
	talked := l.talking.Load()
	l.finish()
	if talked {
		l.hangupOnce.Do(l.h.HungUp)
	}
}

// finish stops the relay, closes the plain leg and frees the softphone
// for the next call; safe to call more than once.
func (l *softLeg) finish() {
	l.mu.Lock()
	if l.over {
		l.mu.Unlock()
		return
	}
	l.over = true
	l.talking.Store(false)
	l.plain.close()
	l.mu.Unlock()
	l.wg.Wait()
	l.p.mu.Lock()
	if l.p.leg == l {
		l.p.leg = nil
	}
	l.p.mu.Unlock()
}
