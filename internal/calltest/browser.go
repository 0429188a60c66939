package calltest

import (
	"context"
	"encoding/json"
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
	// Codecs are the audio codecs offered, in order; nil means PCMU, PCMA
	// and telephone-event/8000 as 101. ChromeCodecs and PionDefaultCodecs
	// offer what real clients offer.
	Codecs []webrtc.RTPCodecParameters
	// ChatReceipts opens the chat channel with the JSON sub-protocol of
	// docs/calls.md, as the widget does: each message sent gets a receipt
	// (Receipts). Without it the channel carries plain text.
	ChatReceipts bool
	// DisconnectedTimeout, when set, is how long the browser's ICE hears
	// nothing before it is disconnected (pion's default: 5 s), to see a
	// dead path sooner; its keepalives go three times as often.
	DisconnectedTimeout time.Duration
}

// chatProtocol is the chat channel's JSON sub-protocol (docs/calls.md).
const chatProtocol = "switchboard-chat+json"

// Receipt says whether a chat message reached the agent.
type Receipt struct {
	Text      string // the message sent
	Delivered bool   // false: the agent's phone did not take it
}

// ChromeCodecs returns the audio codecs of Chrome's offer (120 and later),
// in its order and with its payload types: telephone-event is 126 at
// 8 kHz, and Chrome sends events with whatever number the answer gives.
func ChromeCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		codec(111, webrtc.MimeTypeOpus, 48000, 2, "minptime=10;useinbandfec=1"),
		codec(63, "audio/red", 48000, 2, "111/111"),
		codec(9, webrtc.MimeTypeG722, 8000, 0, ""),
		codec(0, webrtc.MimeTypePCMU, 8000, 0, ""),
		codec(8, webrtc.MimeTypePCMA, 8000, 0, ""),
		codec(13, "audio/CN", 8000, 0, ""),
		codec(110, MimeTypeTelephoneEvent, 48000, 0, ""),
		codec(126, MimeTypeTelephoneEvent, 8000, 0, ""),
	}
}

// PionDefaultCodecs returns the audio codecs of pion's
// RegisterDefaultCodecs, as a Go, aiortc or native WebRTC client offers
// them: no telephone-event.
func PionDefaultCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		codec(111, webrtc.MimeTypeOpus, 48000, 2, "minptime=10;useinbandfec=1"),
		codec(9, webrtc.MimeTypeG722, 8000, 0, ""),
		codec(0, webrtc.MimeTypePCMU, 8000, 0, ""),
		codec(8, webrtc.MimeTypePCMA, 8000, 0, ""),
	}
}

func codec(pt webrtc.PayloadType, mime string, rate uint32, channels uint16, fmtp string) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{PayloadType: pt, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: mime, ClockRate: rate, Channels: channels, SDPFmtpLine: fmtp}}
}

// defaultCodecs are a Browser's codecs when its options name none.
func defaultCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: SampleRate}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: SampleRate}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeTelephoneEvent, ClockRate: SampleRate, SDPFmtpLine: "0-16"}, PayloadType: telephoneEventPT},
	}
}

// Browser is a WebRTC peer like a visitor's browser: it offers its
// options' codecs (Chrome's with ChromeCodecs) on one sendrecv audio
// transceiver and a "chat" data channel, sends with the payload types of
// the answer as browsers do, gathers loopback UDP candidates only, sends
// a tone (and DTMF on demand) and listens to what it receives.
type Browser struct {
	opts  BrowserOptions
	pc    *webrtc.PeerConnection
	track *audioTrack
	chat  *webrtc.DataChannel

	connected, chatOpen, start, done, closing chan struct{}
	connectedOnce, chatOpenOnce, startOnce    sync.Once
	doneOnce, closingOnce                     sync.Once
	chatIn                                    chan string
	receipts                                  chan Receipt
	chatSent                                  map[string]string // by id, waiting for a receipt

	wgMu   sync.Mutex
	wg     sync.WaitGroup
	closed bool

	dtmfReq chan *dtmfJob
	toneHz  atomic.Uint64 // float64 bits
	muted   atomic.Bool
	heard   audioRing // the last second received

	packetsIn, packetsOut, chatDropped atomic.Uint64
	lastIn                             atomic.Int64 // unix ns

	mu     sync.Mutex
	pts    map[uint8]law // payload types of the answer's G.711 codecs
	probes map[uint64]time.Time
	rtts   []time.Duration
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
	if opts.Codecs == nil {
		opts.Codecs = defaultCodecs()
	}
	m := &webrtc.MediaEngine{}
	for _, c := range opts.Codecs {
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
	se := LoopbackSettingEngine()
	if d := opts.DisconnectedTimeout; d > 0 {
		se.SetICETimeouts(d, 25*time.Second, d/3)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
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
		receipts:  make(chan Receipt, 256),
		chatSent:  map[string]string{},
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
	var dcInit *webrtc.DataChannelInit
	if opts.ChatReceipts {
		protocol := chatProtocol
		dcInit = &webrtc.DataChannelInit{Protocol: &protocol}
	}
	if b.chat, err = pc.CreateDataChannel("chat", dcInit); err != nil {
		pc.Close()
		return nil, err
	}
	b.chat.OnOpen(func() { b.chatOpenOnce.Do(func() { close(b.chatOpen) }) })
	b.chat.OnMessage(b.onChat)
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
func (b *Browser) Offer(ctx context.Context) (string, error) { return b.offer(ctx, nil) }

// RestartICE restarts ICE as a browser whose network changed does: an
// offer with new ICE credentials (gathering complete), post (which sends
// it to the server and returns its answer), and the answer applied.
func (b *Browser) RestartICE(ctx context.Context, post func(ctx context.Context, offer string) (answer string, err error)) error {
	offer, err := b.offer(ctx, &webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return err
	}
	answer, err := post(ctx, offer)
	if err != nil {
		return err
	}
	return b.Accept(answer)
}

func (b *Browser) offer(ctx context.Context, opts *webrtc.OfferOptions) (string, error) {
	offer, err := b.pc.CreateOffer(opts)
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

// Chat sends text on the chat channel, waiting for it to open; with
// ChatReceipts, as a JSON message whose receipt comes on Receipts.
func (b *Browser) Chat(ctx context.Context, text string) error {
	select {
	case <-b.chatOpen:
	case <-b.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("chat channel not open: %w", ctx.Err())
	}
	if !b.opts.ChatReceipts {
		return b.chat.SendText(text)
	}
	b.mu.Lock()
	id := "m" + strconv.Itoa(len(b.chatSent)+1)
	b.chatSent[id] = text
	b.mu.Unlock()
	frame, _ := json.Marshal(map[string]string{"id": id, "text": text})
	return b.chat.SendText(string(frame))
}

// onChat takes a message of the chat channel: the agent's text, or with
// ChatReceipts a JSON message or receipt.
func (b *Browser) onChat(msg webrtc.DataChannelMessage) {
	text := string(msg.Data)
	if b.opts.ChatReceipts {
		var f struct{ Type, ID, Text string }
		if err := json.Unmarshal(msg.Data, &f); err != nil {
			b.chatDropped.Add(1)
			return
		}
		if f.Type != "message" {
			b.mu.Lock()
			sent := b.chatSent[f.ID]
			b.mu.Unlock()
			select {
			case b.receipts <- Receipt{Text: sent, Delivered: f.Type == "delivered"}:
			default:
				b.chatDropped.Add(1)
			}
			return
		}
		text = f.Text
	}
	select {
	case b.chatIn <- text:
	default:
		b.chatDropped.Add(1)
	}
}

// Receipts delivers, with ChatReceipts, whether each message sent reached
// the agent.
func (b *Browser) Receipts() <-chan Receipt { return b.receipts }

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
