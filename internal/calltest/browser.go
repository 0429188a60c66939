package calltest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Audio defaults of a Browser.
const (
	DefaultToneHz   = 1000
	DefaultToneDBFS = -10
	// telephoneEventPT is the payload type the browser offers for
	// telephone-event.
	telephoneEventPT = 101
)

// DTMF timing of a Browser, in 20 ms packets.
const (
	dtmfEventPackets = 5 // 100 ms of tone per digit
	dtmfEndPackets   = 3 // the end packet, sent three times
	dtmfGapPackets   = 3 // 60 ms of audio between digits
)

// hearWindow is the span of received audio Heard looks at.
const hearWindow = 200 * time.Millisecond

// ErrClosed is returned by the peers' methods once they are closed.
var ErrClosed = errors.New("calltest: closed")

// BrowserOptions configures a Browser. The zero value sends a 1000 Hz tone
// at -10 dBFS once connected.
type BrowserOptions struct {
	// ToneHz is the frequency of the tone sent; 0 means DefaultToneHz.
	// SetTone changes it later (and can make it silence).
	ToneHz float64
	// ToneDBFS is the tone's level; 0 means DefaultToneDBFS.
	ToneDBFS float64
	// Manual keeps the audio from starting once connected: it starts with
	// Start.
	Manual bool
	// ProbeEvery, when set, replaces an audio packet every ProbeEvery by a
	// probe whose payload is unique; an echo of it (the agent's echo
	// relayed without transcoding) gives a round-trip time (EchoRTTs).
	ProbeEvery time.Duration
	// NoRTCPReports leaves out pion's RTCP sender and receiver reports.
	NoRTCPReports bool
}

// Browser is a WebRTC peer like a visitor's browser: it offers PCMU, PCMA
// and telephone-event on one sendrecv audio transceiver and a "chat" data
// channel, gathers loopback UDP candidates only, sends a tone (and DTMF on
// demand) and listens to what it receives.
type Browser struct {
	opts  BrowserOptions
	pc    *webrtc.PeerConnection
	track *audioTrack
	chat  *webrtc.DataChannel

	connected, chatOpen, start, done, closing chan struct{}
	connectedOnce, chatOpenOnce, startOnce    sync.Once
	doneOnce, closingOnce                     sync.Once
	chatIn                                    chan string

	wgMu   sync.Mutex
	wg     sync.WaitGroup
	closed bool

	dtmfReq chan *dtmfJob
	toneHz  atomic.Uint64 // float64 bits
	muted   atomic.Bool

	packetsIn, packetsOut, chatDropped atomic.Uint64
	lastIn                             atomic.Int64 // unix ns

	mu      sync.Mutex
	pts     map[uint8]law // payload types of the answer's G.711 codecs
	ring    [SampleRate]int16
	ringPos int
	ringLen int
	scratch []int16
	probes  map[uint64]time.Time
	rtts    []time.Duration
}

// dtmfJob is one SendDTMF call for the sending goroutine.
type dtmfJob struct {
	events []uint8
	done   chan struct{}
}

// NewBrowser creates the peer connection, its transceiver and its chat
// channel; Offer comes next.
func NewBrowser(opts BrowserOptions) (*Browser, error) {
	if opts.ToneHz == 0 {
		opts.ToneHz = DefaultToneHz
	}
	if opts.ToneDBFS == 0 {
		opts.ToneDBFS = DefaultToneDBFS
	}
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: SampleRate}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: SampleRate}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeTelephoneEvent, ClockRate: SampleRate, SDPFmtpLine: "0-16"}, PayloadType: telephoneEventPT},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	reg := &interceptor.Registry{}
	if !opts.NoRTCPReports {
		if err := webrtc.ConfigureRTCPReports(reg); err != nil {
			return nil, err
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(LoopbackSettingEngine()))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	b := &Browser{
		opts:      opts,
		pc:        pc,
		track:     &audioTrack{id: "audio", streamID: "calltest"},
		connected: make(chan struct{}),
		chatOpen:  make(chan struct{}),
		start:     make(chan struct{}),
		done:      make(chan struct{}),
		closing:   make(chan struct{}),
		chatIn:    make(chan string, 256),
		dtmfReq:   make(chan *dtmfJob),
		pts:       map[uint8]law{0: lawPCMU, 8: lawPCMA},
		probes:    map[uint64]time.Time{},
	}
	b.toneHz.Store(math.Float64bits(opts.ToneHz))
	pc.OnConnectionStateChange(b.onState)
	pc.OnTrack(func(tr *webrtc.TrackRemote, rec *webrtc.RTPReceiver) {
		b.goroutine(func() { b.readTrack(tr) })
		b.goroutine(func() { drainRTCP(rec.Read) })
	})
	tr, err := pc.AddTransceiverFromTrack(b.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		pc.Close()
		return nil, err
	}
	sender := tr.Sender()
	b.goroutine(func() { drainRTCP(sender.Read) })
	if b.chat, err = pc.CreateDataChannel("chat", nil); err != nil {
		pc.Close()
		return nil, err
	}
	b.chat.OnOpen(func() { b.chatOpenOnce.Do(func() { close(b.chatOpen) }) })
	b.chat.OnMessage(func(msg webrtc.DataChannelMessage) {
		select {
		case b.chatIn <- string(msg.Data):
		default:
			b.chatDropped.Add(1)
		}
	})
	b.goroutine(b.sendLoop)
	return b, nil
}

// LoopbackSettingEngine returns the settings of a Browser: host candidates
// on 127.0.0.1 over UDP4 only, no mDNS. Other pion peers of the tests can
// use it too.
func LoopbackSettingEngine() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

// goroutine runs f unless the browser is closing; Close waits for it.
func (b *Browser) goroutine(f func()) {
	b.wgMu.Lock()
	defer b.wgMu.Unlock()
	if b.closed {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f()
	}()
}

func (b *Browser) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		b.connectedOnce.Do(func() { close(b.connected) })
		if !b.opts.Manual {
			b.Start()
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		b.doneOnce.Do(func() { close(b.done) })
	}
}

// Offer creates the offer, waits for ICE gathering to complete and returns
// the local SDP (no trickle).
func (b *Browser) Offer(ctx context.Context) (string, error) {
	offer, err := b.pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return b.pc.LocalDescription().SDP, nil
}

// Accept sets the answer as the remote description.
func (b *Browser) Accept(answer string) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err == nil {
		b.mu.Lock()
		for _, md := range sd.MediaDescriptions {
			if md.MediaName.Media != "audio" {
				continue
			}
			for pt, name := range rtpmaps(md) {
				if l := lawOf(name); l != lawNone {
					b.pts[pt] = l
				}
			}
		}
		b.mu.Unlock()
	}
	return b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
}

// Connect is Offer, post (which sends the offer to the server and returns
// its answer) and Accept.
func (b *Browser) Connect(ctx context.Context, post func(ctx context.Context, offer string) (answer string, err error)) error {
	offer, err := b.Offer(ctx)
	if err != nil {
		return err
	}
	answer, err := post(ctx, offer)
	if err != nil {
		return err
	}
	return b.Accept(answer)
}

// Start starts the audio (already done once connected unless Manual).
// Packets go out once the connection is up.
func (b *Browser) Start() { b.startOnce.Do(func() { close(b.start) }) }

// SetTone changes the frequency of the tone sent; 0 sends silence.
func (b *Browser) SetTone(hz float64) { b.toneHz.Store(math.Float64bits(hz)) }

// Mute stops (true) or resumes (false) sending audio packets: no RTP at
// all, unlike SetTone(0).
func (b *Browser) Mute(mute bool) { b.muted.Store(mute) }

// Connected is closed once the peer connection is connected.
func (b *Browser) Connected() <-chan struct{} { return b.connected }

// Done is closed once the peer connection failed or closed.
func (b *Browser) Done() <-chan struct{} { return b.done }

// State returns the peer connection's state.
func (b *Browser) State() webrtc.PeerConnectionState { return b.pc.ConnectionState() }

// PeerConnection returns the underlying peer connection (for stats and
// checks the helpers do not cover).
func (b *Browser) PeerConnection() *webrtc.PeerConnection { return b.pc }

// WaitConnected waits until the peer connection is connected.
func (b *Browser) WaitConnected(ctx context.Context) error {
	select {
	case <-b.connected:
		return nil
	case <-b.done:
		return fmt.Errorf("peer connection %s before connecting", b.pc.ConnectionState())
	case <-ctx.Done():
		return fmt.Errorf("not connected (%s): %w", b.pc.ConnectionState(), ctx.Err())
	}
}

// Close closes the peer connection and stops the browser's goroutines.
func (b *Browser) Close() error {
	b.closingOnce.Do(func() { close(b.closing) })
	err := b.pc.Close()
	b.wgMu.Lock()
	b.closed = true
	b.wgMu.Unlock()
	b.wg.Wait()
	b.doneOnce.Do(func() { close(b.done) })
	return err
}

// sendLoop sends one packet every 20 ms once started and connected: the
// tone, or the packets of a DTMF digit.
func (b *Browser) sendLoop() {
	for _, ch := range []chan struct{}{b.start, b.connected} {
		select {
		case <-ch:
		case <-b.closing:
			return
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	s := &sendState{
		seq:  uint16(time.Now().UnixNano()),
		ts:   uint32(time.Now().UnixNano() >> 10),
		tone: Tone{Level: b.opts.ToneDBFS},
	}
	if b.opts.ProbeEvery > 0 {
		s.probeEvery = max(1, int(b.opts.ProbeEvery/(20*time.Millisecond)))
	}
	for {
		select {
		case <-b.closing:
			if s.job != nil {
				close(s.job.done)
			}
			return
		case <-tick.C:
		}
		if bind := b.track.bound(); bind != nil {
			b.sendTick(bind, s)
		}
		s.ts += samplesPerPacket
	}
}

// sendState is the sending goroutine's.
type sendState struct {
	seq        uint16
	ts         uint32
	tone       Tone
	samples    [samplesPerPacket]int16
	payload    []byte
	ticks      int
	probeEvery int
	probeID    uint64

	job     *dtmfJob
	digit   int    // index in job.events
	step    int    // packet of the digit: event, end, then gap
	eventTS uint32 // timestamp of the digit's packets
}

func (b *Browser) sendTick(bind *trackBinding, s *sendState) {
	if s.job == nil {
		select {
		case s.job = <-b.dtmfReq:
			s.digit, s.step = 0, 0
		default:
		}
	}
	if s.job != nil {
		if s.step < dtmfEventPackets+dtmfEndPackets {
			if s.step == 0 {
				s.eventTS = s.ts
			}
			ev := TelephoneEvent{
				Event:    s.job.events[s.digit],
				End:      s.step >= dtmfEventPackets,
				Volume:   10,
				Duration: uint16(min(s.step+1, dtmfEventPackets) * samplesPerPacket),
			}
			if bind.write(bind.tePT, s.seq, s.eventTS, s.step == 0, ev.Marshal()) == nil {
				b.packetsOut.Add(1)
			}
			s.seq++
			s.step++
			return
		}
		s.step++
		if s.step == dtmfEventPackets+dtmfEndPackets+dtmfGapPackets {
			s.digit, s.step = s.digit+1, 0
			if s.digit == len(s.job.events) {
				close(s.job.done)
				s.job = nil
			}
		}
	}
	if b.muted.Load() {
		return
	}
	s.ticks++
	s.tone.Freq = math.Float64frombits(b.toneHz.Load())
	s.tone.Next(s.samples[:])
	s.payload = bind.law.encode(s.payload[:0], s.samples[:])
	if s.probeEvery > 0 && s.ticks%s.probeEvery == 0 {
		s.probeID++
		s.payload = probePayload(s.payload[:0], bind.law, s.probeID)
		b.mu.Lock()
		if len(b.probes) > 1000 {
			clear(b.probes)
		}
		b.probes[s.probeID] = time.Now()
		b.mu.Unlock()
	}
	if bind.write(bind.audioPT, s.seq, s.ts, false, s.payload) == nil {
		b.packetsOut.Add(1)
	}
	s.seq++
}

// probeMagic starts the payload of a probe packet.
var probeMagic = []byte("calltest")

// probePayload is a packet of silence carrying the magic and id.
func probePayload(dst []byte, l law, id uint64) []byte {
	dst = append(dst, probeMagic...)
	dst = binary.BigEndian.AppendUint64(dst, id)
	for len(dst) < samplesPerPacket {
		dst = append(dst, l.silence())
	}
	return dst
}

// SendDTMF sends the digits (0-9, *, #, A-D) as RFC 4733 events, one after
// the other, and returns once they are sent: per digit 5 packets (100 ms)
// with the marker on the first, then 3 end packets, all with the digit's
// timestamp, then 60 ms of audio. Audio pauses during the events; sequence
// numbers go on.
func (b *Browser) SendDTMF(digits string) error {
	if err := checkDigits(digits); err != nil {
		return err
	}
	for _, ch := range []chan struct{}{b.connected, b.start} {
		select {
		case <-ch:
		default:
			return errors.New("calltest: SendDTMF before the connection is up and the audio started")
		}
	}
	bind := b.track.bound()
	if bind == nil || !bind.hasTE {
		return errors.New("calltest: telephone-event not negotiated")
	}
	job := &dtmfJob{done: make(chan struct{})}
	for _, d := range digits {
		ev, _ := DTMFEvent(d)
		job.events = append(job.events, ev)
	}
	select {
	case b.dtmfReq <- job:
	case <-b.closing:
		return ErrClosed
	}
	select {
	case <-job.done:
	case <-b.closing:
		return ErrClosed
	}
	select {
	case <-b.closing:
		return ErrClosed
	default:
		return nil
	}
}

// readTrack decodes the audio received into the ring of the last second.
func (b *Browser) readTrack(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		b.packetsIn.Add(1)
		b.lastIn.Store(now.UnixNano())
		b.mu.Lock()
		if l, ok := b.pts[pkt.PayloadType]; ok {
			if bytes.HasPrefix(pkt.Payload, probeMagic) && len(pkt.Payload) >= len(probeMagic)+8 {
				id := binary.BigEndian.Uint64(pkt.Payload[len(probeMagic):])
				if sent, ok := b.probes[id]; ok {
					delete(b.probes, id)
					if len(b.rtts) == 10000 {
						b.rtts = b.rtts[:copy(b.rtts, b.rtts[1:])]
					}
					b.rtts = append(b.rtts, now.Sub(sent))
				}
			}
			b.scratch = l.decode(b.scratch[:0], pkt.Payload)
			for _, v := range b.scratch {
				b.ring[b.ringPos] = v
				b.ringPos = (b.ringPos + 1) % len(b.ring)
			}
			b.ringLen = min(len(b.ring), b.ringLen+len(b.scratch))
		}
		b.mu.Unlock()
	}
}

// recent returns the last d of audio received, nothing when no packet came
// within d.
func (b *Browser) recent(d time.Duration) []int16 {
	if time.Since(time.Unix(0, b.lastIn.Load())) > d {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(b.ringLen, int(d.Seconds()*SampleRate))
	out := make([]int16, n)
	for i := range out {
		out[i] = b.ring[(b.ringPos-n+i+len(b.ring))%len(b.ring)]
	}
	return out
}

// Heard returns the share of the energy at freq in the last 200 ms of audio
// received (Goertzel): about 1 when that tone is all there is, 0 when
// nothing was received in the last 200 ms.
func (b *Browser) Heard(freq float64) float64 {
	return Goertzel(b.recent(hearWindow), SampleRate, freq)
}

// Level returns the level of the last 200 ms of audio received, in dBFS
// (-inf when nothing was received in the last 200 ms).
func (b *Browser) Level() float64 { return LevelDBFS(b.recent(hearWindow)) }

// HearsTone tells whether the last 200 ms received are mostly freq (over
// half the energy) and loud enough (over -40 dBFS).
func (b *Browser) HearsTone(freq float64) bool {
	s := b.recent(hearWindow)
	return len(s) >= samplesPerPacket && LevelDBFS(s) > -40 && Goertzel(s, SampleRate, freq) > 0.5
}

// WaitTone waits until HearsTone(freq), polling every 10 ms.
func (b *Browser) WaitTone(ctx context.Context, freq float64) error {
	return poll(ctx, func() bool { return b.HearsTone(freq) }, func() string {
		return fmt.Sprintf("tone %g Hz not heard (share %.2f, level %.1f dBFS, %d packets in)",
			freq, b.Heard(freq), b.Level(), b.PacketsReceived())
	})
}

// PacketsReceived counts the RTP packets received.
func (b *Browser) PacketsReceived() uint64 { return b.packetsIn.Load() }

// PacketsSent counts the RTP packets sent (audio and DTMF).
func (b *Browser) PacketsSent() uint64 { return b.packetsOut.Load() }

// LastReceived is when the last RTP packet arrived (zero before any).
func (b *Browser) LastReceived() time.Time {
	if ns := b.lastIn.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// EchoRTTs returns the round-trip times of the probes whose echo came back
// (ProbeEvery), oldest first, at most the last 10000.
func (b *Browser) EchoRTTs() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.rtts...)
}

// Chat sends text on the chat channel, waiting for it to open.
func (b *Browser) Chat(ctx context.Context, text string) error {
	select {
	case <-b.chatOpen:
	case <-b.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("chat channel not open: %w", ctx.Err())
	}
	return b.chat.SendText(text)
}

// ChatOpen is closed once the chat channel is open.
func (b *Browser) ChatOpen() <-chan struct{} { return b.chatOpen }

// ChatReceived delivers the chat messages received (buffered; beyond 256
// unread ones, new ones are dropped and counted by ChatDropped).
func (b *Browser) ChatReceived() <-chan string { return b.chatIn }

// ChatDropped counts the chat messages dropped because nobody read them.
func (b *Browser) ChatDropped() uint64 { return b.chatDropped.Load() }

// rtpmaps returns the encoding names (without clock rate) by payload type
// of an m= section, the static types 0 and 8 included.
func rtpmaps(md *sdp.MediaDescription) map[uint8]string {
	m := map[uint8]string{}
	for _, f := range md.MediaName.Formats {
		switch f {
		case "0":
			m[0] = "PCMU/8000"
		case "8":
			m[8] = "PCMA/8000"
		}
	}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptS, enc, ok := strings.Cut(a.Value, " ")
		pt, err := strconv.ParseUint(ptS, 10, 8)
		if !ok || err != nil {
			continue
		}
		m[uint8(pt)] = strings.TrimSpace(enc)
	}
	for pt, enc := range m {
		name, rate, _ := strings.Cut(enc, "/")
		if rate != "" && !strings.HasPrefix(rate, "8000") {
			name = enc // not 8 kHz: keep the whole, matching no G.711 name
		}
		m[pt] = name
	}
	return m
}

// poll checks cond every 10 ms until it holds or ctx ends, then returns
// an error with what() and ctx's error.
func poll(ctx context.Context, cond func() bool, what func() string) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
