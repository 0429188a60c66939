package media

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

var (
	// ErrNoSoftphone is returned by Dial for an agent without a
	// softphone connected, or whose softphone went away while it rang.
	ErrNoSoftphone = errors.New("no softphone connected")
	// ErrSoftphonesStopped is returned by Connect once Close began.
	ErrSoftphonesStopped = errors.New("media: softphones are stopping")
)

// Softphones are the agents' browser softphones (docs/softphone.md): one
// persistent WebRTC connection per agent, set up once when the agent
// turns it on in the console, on which each call's audio is switched.
// While its control channel is open the agent counts as having a device,
// like a registered phone (observe); it implements calls.Softphones.
//
// An agent has one softphone at most: a new one replaces the old, whose
// console is told so and whose call, if any, ends. Each softphone takes
// a place of media.max_calls for as long as it is connected.
type Softphones struct {
	e       *Engine
	observe func(agent string, live bool)

	notifyMu sync.Mutex // orders observe's calls, each with the state as it is then

	chats atomic.Pointer[calls.ChatInbox] // nil: no chats

	mu     sync.Mutex
	phones map[string]*Softphone // by agent
	closed bool
}

var _ calls.Softphones = (*Softphones)(nil)

// NewSoftphones returns the softphones relayed by e. observe hears
// whenever an agent may have gained or lost its softphone, with whether
// it has one that can ring now; it must not call back into Softphones.
func NewSoftphones(e *Engine, observe func(agent string, live bool)) *Softphones {
	return &Softphones{e: e, observe: observe, phones: make(map[string]*Softphone)}
}

// Connect answers the offer of agent's browser (an SDP with ICE gathering
// complete, an audio section offering G.711, a "softphone" data channel)
// and returns the answer. An offer that cannot be answered gives an error
// wrapping calls.ErrBadOffer; past media.max_calls, calls.ErrMediaFull.
func (ps *Softphones) Connect(agent, offer string) (string, error) {
	offer = lenient(offer)
	o, err := readOffer(offer)
	if err != nil {
		return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	if err := ps.e.admit(); err != nil {
		return "", err
	}
	p, answer, err := ps.newSoftphone(agent, offer, o)
	if err != nil {
		ps.e.release()
		return "", err
	}
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		p.close("stopping")
		return "", ErrSoftphonesStopped
	}
	old := ps.phones[agent]
	ps.phones[agent] = p
	ps.mu.Unlock()
	if old != nil {
		old.sendLast(controlFrame{Type: "replaced"})
		old.close("replaced")
	}
	return answer, nil
}

// Connected implements calls.Softphones: agent's softphone is up and its
// control channel open.
func (ps *Softphones) Connected(agent string) bool {
	p := ps.get(agent)
	return p != nil && p.live.Load()
}

// Disconnect ends agent's softphone, reporting whether it had one.
func (ps *Softphones) Disconnect(agent string) bool {
	p := ps.get(agent)
	if p == nil {
		return false
	}
	p.close("turned off")
	return true
}

// Close ends every softphone and refuses new ones.
func (ps *Softphones) Close() {
	ps.mu.Lock()
	ps.closed = true
	all := make([]*Softphone, 0, len(ps.phones))
	for _, p := range ps.phones {
		all = append(all, p)
	}
	ps.mu.Unlock()
	for _, p := range all {
		p.close("stopping")
	}
}

func (ps *Softphones) get(agent string) *Softphone {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.phones[agent]
}

// gone forgets p, unless another softphone replaced it already.
func (ps *Softphones) gone(p *Softphone) {
	ps.mu.Lock()
	if ps.phones[p.agent] == p {
		delete(ps.phones, p.agent)
	}
	ps.mu.Unlock()
	ps.notify(p.agent)
}

// notify tells the observer whether agent has a softphone that can ring,
// as it is when the call is made: concurrent changes end on the truth.
func (ps *Softphones) notify(agent string) {
	ps.notifyMu.Lock()
	defer ps.notifyMu.Unlock()
	ps.observe(agent, ps.Connected(agent))
}

// Softphone is one agent's browser softphone: the WebRTC connection, its
// control channel, and the call ringing or talking on it.
type Softphone struct {
	ps             *Softphones
	agent          string
	law            codec
	browserEventPT int32 // the offer's telephone-event/8000; -1 none: no DTMF
	pc             *webrtc.PeerConnection
	track          *relayTrack
	log            *slog.Logger

	live    atomic.Bool // the control channel is open: it can ring
	control atomic.Pointer[webrtc.DataChannel]
	sendMu  sync.Mutex // one control message at a time, in order

	// toBrowser numbers the one stream the browser receives, across
	// calls: SRTP drops a stream whose numbers go back as replays.
	toBrowserMu sync.Mutex
	toBrowser   *Rewriter

	mu  sync.Mutex
	leg *softLeg // the call ringing or talking; nil between calls

	connectTimer *time.Timer
	done         chan struct{}
	closeOnce    sync.Once
	wg           sync.WaitGroup
}

// newSoftphone answers agent's offer with a new softphone.
func (ps *Softphones) newSoftphone(agent, offer string, o browserOffer) (*Softphone, string, error) {
	e := ps.e
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{ICEServers: e.iceServers()})
	if err != nil {
		return nil, "", fmt.Errorf("media: %w", err)
	}
	p := &Softphone{ps: ps, agent: agent, law: o.law, browserEventPT: int32(o.eventPT), pc: pc,
		track: newRelayTrack(o.law), log: e.log.With("agent", agent, "softphone", true),
		toBrowser: NewRewriter(0, 8000, time.Now), done: make(chan struct{})}
	pc.OnConnectionStateChange(p.onState)
	pc.OnTrack(p.onTrack)
	pc.OnDataChannel(p.onDataChannel)
	answer, err := answerBrowser(pc, p.track, offer, browserCodecs(p.law, p.browserEventPT), &p.wg, func() {})
	if err != nil {
		pc.Close()
		p.wg.Wait()
		return nil, "", err
	}
	p.connectTimer = time.AfterFunc(e.cfg.ConnectTimeout, func() {
		if !p.live.Load() {
			p.close("no data connection")
		}
	})
	p.log.Info("softphone answered", "law", p.law.name)
	return p, answer, nil
}

func (p *Softphone) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateFailed:
		go p.close("connection failed") // ICE consent lost for media.timeout, or never won
	case webrtc.PeerConnectionStateClosed:
		go p.close("connection closed")
	}
}

// onDataChannel takes the console's "softphone" channel: once it is open
// the softphone can ring; once it closes (the tab went away) it is gone.
func (p *Softphone) onDataChannel(dc *webrtc.DataChannel) {
	if dc.Label() != SoftphoneLabel {
		return
	}
	dc.OnOpen(func() {
		if p.control.CompareAndSwap(nil, dc) {
			p.live.Store(true)
			p.log.Info("softphone connected")
			p.ps.notify(p.agent)
		}
	})
	dc.OnClose(func() { go p.close("control channel closed") })
	dc.OnMessage(p.onControl)
}

// onTrack relays the agent's microphone to the call talking, if any;
// between calls its packets are dropped.
func (p *Softphone) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	p.wg.Add(1)
	defer p.wg.Done()
	select {
	case <-p.done:
		return
	default:
	}
	buf, out := make([]byte, 1500), make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if errors.Is(err, webrtc.ErrCodecNotFound) {
			continue // a payload type nobody negotiated: drop the packet, keep the relay
		}
		if err != nil {
			return
		}
		if l := p.current(); l != nil && l.talking.Load() {
			l.fromBrowser(buf[:n], &pkt, out)
		}
	}
}

// current is the call ringing or talking on the softphone.
func (p *Softphone) current() *softLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leg
}

// close ends the softphone and its call (the agent's side hangs up), and
// gives back its place; safe to call more than once.
func (p *Softphone) close(why string) {
	p.closeOnce.Do(func() {
		close(p.done)
		if p.connectTimer != nil {
			p.connectTimer.Stop()
		}
		p.live.Store(false)
		if l := p.current(); l != nil {
			l.hungUpByAgent()
		}
		p.pc.Close()
		p.wg.Wait()
		p.ps.e.release()
		p.log.Info("softphone closed", "reason", why)
		p.ps.gone(p)
	})
}
