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
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

// reportInterval spaces our RTCP sender reports toward the phone.
const reportInterval = 5 * time.Second

// Session is the media of one call: the browser leg (pion), the plain leg
// toward the phone, and the relay between them. It implements calls.Media.
type Session struct {
	e     *Engine
	law   codec
	pc    *webrtc.PeerConnection
	track *relayTrack
	plain *plainLeg

	sessID  uint64
	version atomic.Uint64 // of our SDP toward the phone

	browserEventPT int32         // the offer's telephone-event/8000; -1 none: no DTMF
	agentEventPT   atomic.Int32  // telephone-event to and from the phone; -1 none
	bridged        atomic.Bool   // the phone answered: relay
	connected      atomic.Bool   // ICE and DTLS are up
	ready          chan struct{} // closed when connected
	lastBrowserRx  atomic.Int64  // unix nanoseconds of the browser's last packet
	rxBrowser      reception     // of the browser's stream (onTrack)
	toBrowser      struct{ packets, octets, lastTS atomic.Uint32 }

	// toBrowserMu serialises the two sources of the browser leg's
	// stream, the phone and the hold tone, through one Rewriter, so that
	// its numbers never go backwards when one gives way to the other.
	toBrowserMu sync.Mutex
	toBrowserRW *Rewriter

	held     atomic.Bool   // on hold from the console (hold.go)
	holdMu   sync.Mutex    // serialises Hold
	holdStop chan struct{} // closed to stop the hold tone

	chat chan calls.ChatMessage
	dc   atomic.Pointer[webrtc.DataChannel]

	restarting atomic.Bool  // an ICE restart is being answered (restart.go)
	restarts   atomic.Int32 // ICE restarts answered or tried

	done      chan struct{}
	endOnce   sync.Once
	reason    string
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var _ calls.Media = (*Session)(nil)

// answer builds the session and the browser's answer.
func (e *Engine) answer(offer string, o browserOffer, plain *plainLeg) (*Session, string, error) {
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{ICEServers: e.iceServers()})
	if err != nil {
		return nil, "", fmt.Errorf("media: %w", err)
	}
	s := &Session{e: e, law: o.law, pc: pc, track: newRelayTrack(o.law), plain: plain, browserEventPT: int32(o.eventPT),
		sessID: rand.Uint64() >> 1, chat: make(chan calls.ChatMessage, 32), done: make(chan struct{}), ready: make(chan struct{}),
		toBrowserRW: NewRewriter(0, 8000, time.Now)} // the track stamps its own SSRC
	s.rxBrowser.clock = 8000
	s.agentEventPT.Store(-1)
	s.lastBrowserRx.Store(time.Now().UnixNano())
	pc.OnConnectionStateChange(s.onState)
	pc.OnTrack(s.onTrack)
	pc.OnDataChannel(s.onDataChannel)
	answer, err := s.negotiate(offer)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	s.wg.Add(3)
	go s.fromPhone()
	go func() { defer s.wg.Done(); s.plain.readRTCP() }()
	go s.watch()
	return s, answer, nil
}

// negotiate answers offer with the one law of the call and, when offered,
// telephone-event, waiting for ICE gathering to complete (no trickle).
func (s *Session) negotiate(offer string) (string, error) {
	return answerBrowser(s.pc, s.track, offer, browserCodecs(s.law, s.browserEventPT), &s.wg,
		func() { s.lastBrowserRx.Store(time.Now().UnixNano()) })
}

func (s *Session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.lastBrowserRx.Store(time.Now().UnixNano())
		if !s.connected.Swap(true) {
			close(s.ready)
		}
	case webrtc.PeerConnectionStateFailed:
		if s.connected.Load() {
			s.end(calls.ReasonMediaTimeout)
		} else {
			s.end(calls.ReasonNoDataConnection)
		}
	case webrtc.PeerConnectionStateClosed:
		s.end(calls.ReasonVisitorHangup)
	}
}

// onTrack relays the browser's audio and events toward the phone.
func (s *Session) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s.wg.Add(1)
	defer s.wg.Done()
	select {
	case <-s.done:
		return
	default:
	}
	rw := NewRewriter(s.plain.ssrc, 8000, time.Now)
	buf, out := make([]byte, 1500), make([]byte, 1500)
	quiet := silence(s.law)
	var p rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if errors.Is(err, webrtc.ErrCodecNotFound) {
			continue // a payload type nobody negotiated: drop the packet, keep the relay
		}
		if err != nil {
			return
		}
		now := time.Now()
		s.lastBrowserRx.Store(now.UnixNano())
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		s.rxBrowser.packet(&p.Header, now)
		if !s.bridged.Load() {
			continue
		}
		held := s.held.Load()
		switch int32(p.PayloadType) {
		case int32(s.law.pt):
			if held { // the agent hears silence, its stream goes on
				for i := range p.Payload {
					p.Payload[i] = quiet
				}
			}
		case s.browserEventPT:
			pt := s.agentEventPT.Load()
			if pt < 0 || held {
				continue
			}
			p.PayloadType = uint8(pt)
		default:
			continue
		}
		p.Extension, p.Extensions = false, nil
		if !rw.Rewrite(&p.Header) {
			continue
		}
		if m, err := p.MarshalTo(out); err == nil {
			if s.plain.send(out[:m]) {
				s.e.toPhone.Add(1)
			}
		}
	}
}

// fromPhone relays the phone's audio and events toward the browser.
func (s *Session) fromPhone() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, from, err := s.plain.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if !s.bridged.Load() {
			continue
		}
		now := time.Now()
		s.plain.received(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		s.plain.rx.packet(&p.Header, now)
		isEvent := false
		switch int32(p.PayloadType) {
		case int32(s.law.pt):
		case s.agentEventPT.Load():
			isEvent = true
		default:
			continue
		}
		if s.held.Load() {
			continue // the visitor hears the hold tone instead
		}
		p.Extension, p.Extensions, p.CSRC = false, nil, nil
		s.toBrowserPacket(&p.Header, p.Payload, isEvent)
	}
}

// toBrowserPacket rewrites a packet of the phone or of the hold tone into
// the browser leg's one stream and sends it.
func (s *Session) toBrowserPacket(h *rtp.Header, payload []byte, isEvent bool) {
	s.toBrowserMu.Lock()
	defer s.toBrowserMu.Unlock()
	if s.toBrowserRW.Rewrite(h) && s.track.write(h, payload, isEvent) == nil {
		s.e.toBrowser.Add(1)
		s.toBrowser.packets.Add(1)
		s.toBrowser.octets.Add(uint32(len(payload)))
		s.toBrowser.lastTS.Store(h.Timestamp)
	}
}

// watch ends the call when ICE and DTLS do not come up in time or a leg
// goes quiet, and sends our RTCP reports toward the phone.
func (s *Session) watch() {
	defer s.wg.Done()
	cfg := s.e.cfg
	tick := time.NewTicker(min(time.Second, cfg.Timeout/4, cfg.ConnectTimeout/4))
	defer tick.Stop()
	deadline := time.Now().Add(cfg.ConnectTimeout)
	var lastReport time.Time
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			switch {
			case !s.connected.Load():
				if now.After(deadline) {
					s.end(calls.ReasonNoDataConnection)
				}
			case now.Sub(time.Unix(0, s.lastBrowserRx.Load())) > cfg.Timeout:
				s.end(calls.ReasonMediaTimeout)
			case s.bridged.Load() && s.plain.idle(cfg.Timeout, now):
				s.end(calls.ReasonMediaTimeout)
			case now.Sub(lastReport) >= reportInterval:
				s.report(now)
				lastReport = now
			}
		}
	}
}

// report sends our RTCP reports on both legs (RFC 3550 §6.4): each leg
// has its own, none is forwarded.
func (s *Session) report(now time.Time) {
	if s.bridged.Load() {
		s.plain.report(now)
	}
	if ssrc := s.track.boundSSRC(); ssrc != 0 && s.toBrowser.packets.Load() > 0 {
		pkts := senderReport(ssrc, now, s.toBrowser.lastTS.Load(), s.toBrowser.packets.Load(), s.toBrowser.octets.Load(), &s.rxBrowser)
		if err := s.pc.WriteRTCP(pkts); err != nil {
			s.e.log.Debug("rtcp toward the browser", "error", err)
		}
	}
}

// Ready implements calls.Media.
func (s *Session) Ready() <-chan struct{} { return s.ready }

// AgentOffer implements calls.Media. The phone is offered telephone-event
// only when the browser takes it: otherwise its DTMF goes in-band, as
// audio the visitor hears, rather than as events nobody can play.
func (s *Session) AgentOffer() []byte {
	ev := eventPT
	if s.browserEventPT < 0 {
		ev = -1
	}
	return localSDP(s.sessID, s.version.Load(), s.plain.local.Addr(), int(s.plain.local.Port()), s.law, ev, sendrecv)
}

// Connect implements calls.Media.
func (s *Session) Connect(answer []byte) error {
	r, err := parseRemote(answer, s.law)
	if err != nil {
		return fmt.Errorf("agent answer: %w", err)
	}
	s.agentEventPT.Store(int32(r.eventPT))
	s.plain.apply(r)
	s.bridged.Store(true)
	return nil
}

// Reoffer implements calls.Media: the phone holds or resumes. The
// browser leg is left as it is; the relay follows the new direction.
func (s *Session) Reoffer(offer []byte) ([]byte, error) {
	r, err := parseRemote(offer, s.law)
	if err != nil {
		return nil, err
	}
	s.agentEventPT.Store(int32(r.eventPT))
	s.plain.apply(r)
	v := s.version.Add(1)
	return localSDP(s.sessID, v, s.plain.local.Addr(), int(s.plain.local.Port()), s.law, r.eventPT, mirror(r.direction)), nil
}

// Done implements calls.Media.
func (s *Session) Done() <-chan struct{} { return s.done }

// Reason implements calls.Media; valid once Done is closed.
func (s *Session) Reason() string {
	<-s.done
	return s.reason
}

// end records why the media ended, the first time.
func (s *Session) end(reason string) {
	s.endOnce.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// Close implements calls.Media: both legs closed, every goroutine gone.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		s.end(calls.ReasonVisitorHangup)
		s.pc.Close()
		s.plain.close()
		s.wg.Wait()
		s.e.release()
	})
}
