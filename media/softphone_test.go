package media

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/calltest"
)

// The softphone with pion on both ends: a visitor's Session (a pion
// browser sending 1000 Hz) and an agent's softphone (a pion browser
// sending 600 Hz, with the console's control channel), relayed by one
// Engine over loopback.

const agentURI = "sip:alice@example.com"

// softphoneEngine is an Engine on loopback with the test's limits, and
// its softphones, whose observer's reports come on the channel.
func softphoneEngine(t *testing.T, maxCalls int) (*Engine, *Softphones, <-chan bool) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ICE.HostIPs = []string{"127.0.0.1"}
	cfg.MaxCalls = maxCalls
	e, err := NewEngine(cfg, "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	live := make(chan bool, 64)
	ps := NewSoftphones(e, func(agent string, up bool) {
		if agent == agentURI {
			live <- up
		}
	})
	t.Cleanup(ps.Close)
	return e, ps, live
}

// nextLive waits for the observer's next report, skipping repeats of the
// other value until want comes.
func nextLive(t *testing.T, live <-chan bool, want bool, what string) {
	t.Helper()
	for calltest.Next(t, live, what) != want {
	}
}

// console is a pion peer playing the agent console's softphone: a
// calltest.Browser with the control channel.
type console struct {
	*calltest.Browser
	dc     *webrtc.DataChannel
	frames chan controlFrame
	open   chan struct{}
}

func newConsole(t *testing.T, ps *Softphones, toneHz float64) *console {
	t.Helper()
	c := &console{Browser: calltest.NewTestBrowser(t, calltest.BrowserOptions{ToneHz: toneHz, Codecs: calltest.ChromeCodecs()}),
		frames: make(chan controlFrame, 16), open: make(chan struct{})}
	protocol := SoftphoneProtocol
	dc, err := c.PeerConnection().CreateDataChannel(SoftphoneLabel, &webrtc.DataChannelInit{Protocol: &protocol})
	if err != nil {
		t.Fatal(err)
	}
	c.dc = dc
	var once sync.Once
	dc.OnOpen(func() { once.Do(func() { close(c.open) }) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		var f controlFrame
		if json.Unmarshal(m.Data, &f) == nil {
			c.frames <- f
		}
	})
	err = c.Connect(calltest.Context(t), func(_ context.Context, offer string) (string, error) {
		return ps.Connect(agentURI, offer)
	})
	if err != nil {
		t.Fatal(err)
	}
	calltest.Closed(t, c.open, "the control channel open")
	// The server's end of the channel opens a moment after the browser's:
	// only then can the softphone ring.
	calltest.Eventually(t, "the softphone connected", func() bool { return ps.Connected(agentURI) })
	return c
}

// say sends a control message about call.
func (c *console) say(t *testing.T, typ, call string) {
	t.Helper()
	b, _ := json.Marshal(controlFrame{Type: typ, Call: call})
	if err := c.dc.SendText(string(b)); err != nil {
		t.Fatal(err)
	}
}

// next waits for the console's next control message, which must be of typ.
func (c *console) next(t *testing.T, typ string) controlFrame {
	t.Helper()
	f := calltest.Next(t, c.frames, "the console's "+typ)
	if f.Type != typ {
		t.Fatalf("the console got %+v, want a %s", f, typ)
	}
	return f
}

// visitor connects a pion browser sending toneHz to e as a Talk now call.
func visitor(t *testing.T, e *Engine, toneHz float64) (*calltest.Browser, calls.Media) {
	t.Helper()
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{ToneHz: toneHz, Codecs: calltest.ChromeCodecs()})
	var m calls.Media
	err := b.Connect(calltest.Context(t), func(_ context.Context, offer string) (string, error) {
		s, answer, err := e.Answer(offer)
		m = s
		return answer, err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	calltest.Closed(t, m.Ready(), "the visitor's data connection")
	return b, m
}

// handler is the calls side of a leg.
type handler struct {
	rung, hungUp chan struct{}
	ringOnce     sync.Once
	hangOnce     sync.Once
	chat         chan string
}

func newHandler() *handler {
	return &handler{rung: make(chan struct{}), hungUp: make(chan struct{}), chat: make(chan string, 4)}
}
func (h *handler) Ringing([]byte)                 { h.ringOnce.Do(func() { close(h.rung) }) }
func (h *handler) Reoffer([]byte) ([]byte, error) { return nil, errors.New("no re-offer") }
func (h *handler) Message(text string)            { h.chat <- text }
func (h *handler) HungUp()                        { h.hangOnce.Do(func() { close(h.hungUp) }) }
func (h *handler) wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	calltest.Closed(t, c, what)
}

type dialed struct {
	leg calls.Leg
	err error
}

// dial rings the agent's softphone with m's offer in the background.
func dial(ctx context.Context, ps *Softphones, m calls.Media, id string, h calls.LegHandler) <-chan dialed {
	out := make(chan dialed, 1)
	go func() {
		leg, err := ps.Dial(ctx, agentURI, calls.Offer{CallID: id, Display: "Web visitor",
			Context: "group=billing&language=fr&page=%2Fpricing&customer=c-42", SDP: m.AgentOffer()}, h)
		out <- dialed{leg, err}
	}()
	return out
}

// A call rings the console with the visitor's context; answered, each
// side hears the other's tone; the keypad's digit reaches the visitor's
// leg as an event; chat goes both ways; the visitor's hang-up ends it in
// the console, and the softphone takes the next call.
func TestSoftphone_RingAnswerAndTalkBothWays(t *testing.T) {
	e, ps, live := softphoneEngine(t, 10)
	agent := newConsole(t, ps, 600)
	nextLive(t, live, true, "the softphone live")
	if !ps.Connected(agentURI) {
		t.Fatal("not Connected once live")
	}
	vb, m := visitor(t, e, 1000)

	h := newHandler()
	res := dial(calltest.Context(t), ps, m, "call-1", h)
	ring := agent.next(t, "ring")
	want := map[string]string{"group": "billing", "language": "fr", "page": "/pricing", "customer": "c-42"}
	if ring.Call != "call-1" || ring.Kind != "call" || ring.From != "Web visitor" || len(ring.Context) != len(want) {
		t.Fatalf("ring %+v", ring)
	}
	for k, v := range want {
		if ring.Context[k] != v {
			t.Errorf("ring context %s = %q, want %q", k, ring.Context[k], v)
		}
	}
	h.wait(t, h.rung, "ringing reported")
	agent.say(t, "answer", "call-1")
	d := calltest.Next(t, res, "the answer")
	if d.err != nil {
		t.Fatal(d.err)
	}
	agent.next(t, "talking")
	if err := m.Connect(d.leg.Answer()); err != nil {
		t.Fatal(err)
	}
	ctx := calltest.Context(t)
	if err := vb.WaitTone(ctx, 600); err != nil {
		t.Fatalf("the visitor: %v", err)
	}
	if err := agent.WaitTone(ctx, 1000); err != nil {
		t.Fatalf("the agent: %v", err)
	}

	// Chat: the visitor's text to the console, the console's to calls.
	if err := d.leg.Message(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if f := agent.next(t, "message"); f.Text != "hello" || f.Call != "call-1" {
		t.Errorf("chat at the console: %+v", f)
	}
	b, _ := json.Marshal(controlFrame{Type: "message", Call: "call-1", Text: "bonjour"})
	agent.dc.SendText(string(b))
	if got := calltest.Next(t, h.chat, "the agent's chat"); got != "bonjour" {
		t.Errorf("agent's chat %q", got)
	}

	if err := d.leg.Hangup(ctx, calls.Cause{}); err != nil {
		t.Fatal(err)
	}
	agent.next(t, "ended")
	// The next call rings the same softphone.
	res = dial(ctx, ps, m, "call-2", newHandler())
	agent.next(t, "ring")
	agent.say(t, "decline", "call-2")
	if d := calltest.Next(t, res, "the decline"); !errors.Is(d.err, ErrDeclined) {
		t.Fatalf("declined: %v, want ErrDeclined", d.err)
	}
	if s := e.Stats(); s.ToPhone == 0 || s.ToBrowser == 0 {
		t.Errorf("relay counts %+v", s)
	}
}

// The agent hangs up in the console: calls hears HungUp; a call not
// answered within the ring time is cancelled in the console.
func TestSoftphone_AgentHangupAndRingTimeout(t *testing.T) {
	e, ps, _ := softphoneEngine(t, 10)
	agent := newConsole(t, ps, 600)
	_, m := visitor(t, e, 1000)

	h := newHandler()
	res := dial(calltest.Context(t), ps, m, "call-1", h)
	agent.next(t, "ring")
	agent.say(t, "answer", "call-1")
	if d := calltest.Next(t, res, "the answer"); d.err != nil {
		t.Fatal(d.err)
	}
	agent.next(t, "talking")
	agent.say(t, "hangup", "call-1")
	h.wait(t, h.hungUp, "the agent's hang-up")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res = dial(ctx, ps, m, "call-2", newHandler())
	agent.next(t, "ring")
	if f := agent.next(t, "cancel"); f.Reason != "no-answer" || f.Call != "call-2" {
		t.Errorf("cancel %+v, want no-answer of call-2", f)
	}
	if d := calltest.Next(t, res, "the ring timeout"); !errors.Is(d.err, context.DeadlineExceeded) {
		t.Errorf("rang out: %v", d.err)
	}
	// A visitor whose law the softphone does not use is refused at once.
	pcma := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")
	if _, err := ps.Dial(calltest.Context(t), agentURI, calls.Offer{CallID: "c3", SDP: pcma}, newHandler()); err == nil {
		t.Error("a PCMA call rang a PCMU softphone")
	}
}

// One softphone per agent: a second replaces the first, whose console is
// told; the agent stays live throughout. Closing the tab (the connection)
// makes it not live; each softphone holds a place of media.max_calls
// while it lives.
func TestSoftphone_ReplacedThenGoneWithTheTab(t *testing.T) {
	e, ps, live := softphoneEngine(t, 2)
	first := newConsole(t, ps, 600)
	nextLive(t, live, true, "the first softphone live")
	_, m := visitor(t, e, 1000)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{Codecs: calltest.ChromeCodecs()})
	offer, err := b.Offer(calltest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Answer(offer); !errors.Is(err, calls.ErrMediaFull) {
		t.Fatalf("a call past max_calls (a softphone and a call up): %v, want ErrMediaFull", err)
	}
	m.Close()

	second := newConsole(t, ps, 600)
	first.next(t, "replaced")
	calltest.Closed(t, first.Done(), "the first softphone's connection closed")
	nextLive(t, live, true, "the second softphone live")
	if !ps.Connected(agentURI) {
		t.Fatal("not live after the replacement")
	}
	second.Close() // the tab closes
	nextLive(t, live, false, "the softphone gone with its tab")
	calltest.Eventually(t, "its place given back", func() bool { return e.Stats().Calls == 0 })
	if ps.Connected(agentURI) || ps.Disconnect(agentURI) {
		t.Error("still a softphone after the tab closed")
	}
	if _, err := ps.Dial(calltest.Context(t), agentURI, calls.Offer{}, newHandler()); !errors.Is(err, ErrNoSoftphone) {
		t.Errorf("dial without softphone: %v, want ErrNoSoftphone", err)
	}
}

// The keypad's digits go to the call's leg as RFC 4733 events under the
// payload type its offer gave (the browser sends them as 126), and the
// agent's voice as the call's law, from the plain RTP port answered.
func TestSoftphone_KeypadDigitsReachTheCallAsEvents(t *testing.T) {
	_, ps, _ := softphoneEngine(t, 10)
	agent := newConsole(t, ps, 600)
	far, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	port := far.LocalAddr().(*net.UDPAddr).Port
	offer := localSDP(1, 1, netip.MustParseAddr("127.0.0.1"), port, pcmu, eventPT, sendrecv)
	res := make(chan dialed, 1)
	go func() {
		leg, err := ps.Dial(calltest.Context(t), agentURI, calls.Offer{CallID: "c1", SDP: offer}, newHandler())
		res <- dialed{leg, err}
	}()
	agent.next(t, "ring")
	agent.say(t, "answer", "c1")
	d := calltest.Next(t, res, "the answer")
	if d.err != nil {
		t.Fatal(d.err)
	}
	r, err := parseRemote(d.leg.Answer(), pcmu)
	if err != nil || r.eventPT != eventPT || r.rtp.Port() == 0 {
		t.Fatalf("the leg's answer %q: %+v, %v", d.leg.Answer(), r, err)
	}
	if err := agent.SendDTMF("7"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	audio, digit := 0, false
	far.SetReadDeadline(time.Now().Add(calltest.Wait))
	for audio == 0 || !digit {
		n, from, err := far.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("%d audio packets, event 7 %v: %v", audio, digit, err)
		}
		if from.Port() != r.rtp.Port() {
			t.Fatalf("RTP from port %d, the answer says %d", from.Port(), r.rtp.Port())
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		switch p.PayloadType {
		case pcmu.pt:
			audio++
		case eventPT:
			ev, err := calltest.ParseTelephoneEvent(p.Payload)
			if err != nil || ev.Event != 7 {
				t.Fatalf("event %+v, %v; want 7", ev, err)
			}
			digit = true
		default:
			t.Fatalf("payload type %d", p.PayloadType)
		}
	}
	d.leg.Hangup(calltest.Context(t), calls.Cause{})
}

// A callback rings the softphone too (its agent leg offers both laws):
// the console is shown the number, and once answered the agent hears the
// ringback tone while the visitor's phone rings.
func TestSoftphone_CallbackRingsAndHearsRingback(t *testing.T) {
	e, ps, _ := softphoneEngine(t, 10)
	agent := newConsole(t, ps, 600)
	pm, err := e.Bridge()
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Close()
	res := make(chan dialed, 1)
	go func() {
		leg, err := ps.Dial(calltest.Context(t), agentURI, calls.Offer{CallbackID: "cb1", Display: "Callback +33123456789",
			Phone: "+33123456789", Context: "group=billing", SDP: pm.AgentOffer()}, newHandler())
		res <- dialed{leg, err}
	}()
	if f := agent.next(t, "ring"); f.Kind != "callback" || f.Phone != "+33123456789" || f.Call != "cb1" {
		t.Errorf("ring %+v", f)
	}
	agent.say(t, "answer", "cb1")
	d := calltest.Next(t, res, "the answer")
	if d.err != nil {
		t.Fatal(d.err)
	}
	agent.next(t, "talking")
	if err := pm.ConnectAgent(d.leg.Answer()); err != nil {
		t.Fatal(err)
	}
	pm.Ringback()
	if err := agent.WaitTone(calltest.Context(t), ringbackHz); err != nil {
		t.Fatalf("the ringback at the console: %v", err)
	}
	d.leg.Hangup(calltest.Context(t), calls.Cause{})
	agent.next(t, "ended")
}
