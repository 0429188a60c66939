package calltest

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// echoPeer answers a Browser like Switchboard would, but echoes: the audio
// it receives goes back on its own track (the payload untouched), digits
// are recorded, chat comes back with "echo: ".
type echoPeer struct {
	pc     *webrtc.PeerConnection
	digits chan rune
	faults atomic.Int32 // sequence gaps, events without a marker, SSRC changes
}

func newEchoPeer(t *testing.T, codec string) *echoPeer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	pt := webrtc.PayloadType(0)
	if codec == webrtc.MimeTypePCMA {
		pt = 8
	}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: codec, ClockRate: SampleRate}, PayloadType: pt},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeTelephoneEvent, ClockRate: SampleRate, SDPFmtpLine: "0-16"}, PayloadType: 101},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(LoopbackSettingEngine()))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	out, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: codec, ClockRate: SampleRate}, "echo", "echo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(out); err != nil {
		t.Fatal(err)
	}
	p := &echoPeer{pc: pc, digits: make(chan rune, 16)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		var lastEnd, lastTS, ssrc uint32
		var lastSeq uint16
		for i := 0; ; i++ {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if i > 0 && (pkt.SequenceNumber != lastSeq+1 || pkt.SSRC != ssrc) {
				p.faults.Add(1)
			}
			lastSeq, ssrc = pkt.SequenceNumber, pkt.SSRC
			if pkt.PayloadType == 101 && pkt.Timestamp != lastTS && !pkt.Marker {
				p.faults.Add(1)
			}
			lastTS = pkt.Timestamp
			if pkt.PayloadType != 101 {
				out.WriteRTP(pkt)
				continue
			}
			ev, err := ParseTelephoneEvent(pkt.Payload)
			if err == nil && ev.End && pkt.Timestamp != lastEnd {
				lastEnd = pkt.Timestamp
				d, _ := DTMFDigit(ev.Event)
				p.digits <- d
			}
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(msg webrtc.DataChannelMessage) { dc.SendText("echo: " + string(msg.Data)) })
	})
	return p
}

// answer answers the browser's offer.
func (p *echoPeer) answer(t *testing.T, b *Browser) {
	t.Helper()
	ctx := Context(t)
	offer, err := b.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	Closed(t, gathered, "answerer's ICE gathering")
	if err := b.Accept(p.pc.LocalDescription().SDP); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBrowser_OfferIsLoopbackG711WithEventsAndChat(t *testing.T) {
	b := NewTestBrowser(t, BrowserOptions{})
	offer, err := b.Offer(Context(t))
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseAudioOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if o.PT != 0 || o.EventPT != 101 || o.Direction != SendRecv {
		t.Fatalf("audio offer %+v\n%s", o, offer)
	}
	for _, want := range []string{"m=application ", "a=rtpmap:8 PCMA/8000", "a=fmtp:101 0-16", "typ host"} {
		if !strings.Contains(offer, want) {
			t.Errorf("offer without %q:\n%s", want, offer)
		}
	}
	n := 0
	for _, line := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			n++
			if f := strings.Fields(line); len(f) < 8 || f[2] != "udp" || f[4] != "127.0.0.1" || f[7] != "host" {
				t.Errorf("candidate not UDP on 127.0.0.1: %s", line)
			}
		}
	}
	if n == 0 {
		t.Errorf("no candidate:\n%s", offer)
	}
}

func TestBrowser_HearsItsEchoSendsDigitsAndChats(t *testing.T) {
	for _, codec := range []string{webrtc.MimeTypePCMU, webrtc.MimeTypePCMA} {
		t.Run(codec, func(t *testing.T) {
			p := newEchoPeer(t, codec)
			b := NewTestBrowser(t, BrowserOptions{ProbeEvery: 100 * time.Millisecond})
			p.answer(t, b)
			if err := b.WaitTone(Context(t), DefaultToneHz); err != nil {
				t.Fatal(err)
			}
			if b.HearsTone(500) {
				t.Fatal("hears 500 Hz in a 1 kHz echo")
			}
			if l := b.Level(); l < -11 || l > -9 {
				t.Fatalf("echo level %.1f dBFS, want -10", l)
			}

			b.SetTone(500)
			if err := b.WaitTone(Context(t), 500); err != nil {
				t.Fatal(err)
			}

			if err := b.SendDTMF("5*D"); err != nil {
				t.Fatal(err)
			}
			for _, want := range "5*D" {
				if d := Next(t, p.digits, "digit"); d != want {
					t.Fatalf("digit %q, want %q", d, want)
				}
			}
			if n := p.faults.Load(); n != 0 {
				t.Fatalf("%d sequence, SSRC or marker faults", n)
			}
			if err := b.SendDTMF("x"); err == nil {
				t.Fatal("SendDTMF(x) succeeded")
			}

			if err := b.Chat(Context(t), "hi"); err != nil {
				t.Fatal(err)
			}
			if got := Next(t, b.ChatReceived(), "chat echo"); got != "echo: hi" {
				t.Fatalf("chat %q", got)
			}
			Eventually(t, "probe echoes", func() bool { return len(b.EchoRTTs()) > 0 })
			if rtt := b.EchoRTTs()[0]; rtt <= 0 || rtt > time.Second {
				t.Fatalf("echo RTT %v", rtt)
			}

			b.Mute(true)
			Eventually(t, "silence once muted", func() bool { return b.Heard(500) == 0 })
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			Closed(t, b.Done(), "browser done")
			if b.State() != webrtc.PeerConnectionStateClosed {
				t.Fatalf("state %s", b.State())
			}
		})
	}
}
