package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/calltest"
)

// An ICE restart with pion on both ends over loopback: the browser's
// first path goes through a UDP relay the test cuts (a network change:
// the old path is dead, not merely quiet), the browser's ICE sees it go
// disconnected, restarts ICE on a new path, and the visitor's tone goes
// to the phone (which echoes it) and back again, on the same Session.

// restartEngine is an Engine on loopback with the test's media timeout
// and ICE restart limit.
func restartEngine(t *testing.T, timeout time.Duration, maxRestarts int) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ICE.HostIPs = []string{"127.0.0.1"}
	cfg.Timeout, cfg.ICE.MaxRestarts = timeout, maxRestarts
	e, err := NewEngine(cfg, "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// echoPhone is the agent's phone of the plain leg: it sends every RTP
// packet it receives back where it came from, and counts them.
type echoPhone struct {
	conn *net.UDPConn
	rx   atomic.Uint64
}

func newEchoPhone(t *testing.T) *echoPhone {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &echoPhone{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(buf[:n]) == nil {
				p.rx.Add(1)
				conn.WriteToUDPAddrPort(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return p
}

// answer is the phone's SDP answer to the Session's offer.
func (p *echoPhone) answer() []byte {
	a := p.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return localSDP(1, 1, a.Addr(), int(a.Port()), pcmu, -1, sendrecv)
}

// candidate matches a loopback host candidate's address and port, and
// component2 a whole candidate line of component 2 (RTCP without mux,
// which pion may list too).
var (
	candidate  = regexp.MustCompile(`(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)( typ host)`)
	component2 = regexp.MustCompile(`a=candidate:\S+ 2 udp [^\r\n]*\r?\n`)
)

// through rewrites the candidate of sdp to conn's port, remembering the
// real one in peer, and leaves out those of component 2: the peer has no
// other way to the real address.
func through(t *testing.T, sdp string, conn *net.UDPConn, peer *atomic.Pointer[net.UDPAddr]) string {
	t.Helper()
	sdp = component2.ReplaceAllString(sdp, "")
	m := candidate.FindStringSubmatch(sdp)
	if m == nil {
		t.Fatalf("no loopback host candidate in\n%s", sdp)
	}
	port, _ := strconv.Atoi(m[2])
	peer.Store(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	return candidate.ReplaceAllString(sdp, "${1}"+strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)+"${3}")
}

// talking is a browser sending a 1000 Hz tone in a Session bridged to an
// echoing phone, over r when it is not nil, once the browser hears its
// own tone back.
func talking(t *testing.T, e *Engine, r *calltest.Relay) (*calltest.Browser, *Session, *echoPhone) {
	t.Helper()
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{DisconnectedTimeout: time.Second})
	var s *Session
	err := b.Connect(calltest.Context(t), func(_ context.Context, offer string) (string, error) {
		if r != nil {
			offer = through(t, offer, r.ToServer, &r.Browser)
		}
		m, answer, err := e.Answer(offer)
		if err != nil {
			return "", err
		}
		s = m.(*Session)
		t.Cleanup(s.Close)
		if r != nil {
			answer = through(t, answer, r.ToBrowser, &r.Server)
		}
		return answer, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	calltest.Closed(t, s.Ready(), "the data connection")
	phone := newEchoPhone(t)
	if err := s.Connect(phone.answer()); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitTone(calltest.Context(t), 1000); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	return b, s, phone
}

// restart is the browser's ICE restart through s.
func restart(ctx context.Context, b *calltest.Browser, s *Session) error {
	return b.RestartICE(ctx, func(_ context.Context, offer string) (string, error) { return s.Restart(offer) })
}

// flowsBothWays waits for fresh packets at the phone and the tone, back
// from the phone, at the browser.
func flowsBothWays(t *testing.T, b *calltest.Browser, phone *echoPhone, what string) {
	t.Helper()
	fromPhone, fromBrowser := b.PacketsReceived(), phone.rx.Load()
	calltest.Eventually(t, what, func() bool {
		return phone.rx.Load() > fromBrowser+25 && b.PacketsReceived() > fromPhone+25 && b.HearsTone(1000)
	})
}

func TestRestart_NewPathAfterTheOldOneDied(t *testing.T) {
	e := restartEngine(t, 10*time.Second, 2)
	r := calltest.NewRelay(t)
	b, s, phone := talking(t, e, r)

	r.Cut.Store(true)
	pair, _ := b.PeerConnection().SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	calltest.Eventually(t, fmt.Sprintf("the browser's ICE disconnected (its pair %v, the relay %v)",
		pair, r.ToBrowser.LocalAddr()), func() bool {
		return b.PeerConnection().ICEConnectionState() == webrtc.ICEConnectionStateDisconnected
	})
	if err := restart(calltest.Context(t), b, s); err != nil {
		t.Fatalf("ICE restart: %v", err)
	}
	flowsBothWays(t, b, phone, "RTP both ways on the new path")
	select {
	case <-s.Done():
		t.Fatalf("the call ended: %s", s.Reason())
	default:
	}
	if n := e.Stats().ICERestarts; n != 1 {
		t.Errorf("%d ICE restarts counted, want 1", n)
	}
	if n := s.restarts.Load(); n != 1 {
		t.Errorf("the session counts %d restarts, want 1", n)
	}
}

// Without a restart, a dead path ends the call at media.timeout, with the
// reason media-timeout.
func TestRestart_NoneWithinTheMediaTimeoutEndsTheCall(t *testing.T) {
	e := restartEngine(t, 2*time.Second, 2)
	r := calltest.NewRelay(t)
	_, s, _ := talking(t, e, r)
	r.Cut.Store(true)
	calltest.Closed(t, s.Done(), "the call ended by the media timeout")
	if s.Reason() != calls.ReasonMediaTimeout {
		t.Errorf("reason %q, want %q", s.Reason(), calls.ReasonMediaTimeout)
	}
	if _, err := s.Restart("v=0"); !errors.Is(err, calls.ErrCallEnded) {
		t.Errorf("a restart after the end: %v, want ErrCallEnded", err)
	}
}

// Restarts are capped per call (media.ice.max_restarts): past the cap a
// restart is refused with ErrRestartLimit, and the connection goes on on
// the path it has. An offer that restarts nothing is refused as a bad
// offer, and does not count.
func TestRestart_LimitPerCall(t *testing.T) {
	const max = 2
	e := restartEngine(t, 10*time.Second, max)
	b, s, phone := talking(t, e, nil)
	ctx := calltest.Context(t)
	same := b.PeerConnection().LocalDescription().SDP
	if _, err := s.Restart(same); !errors.Is(err, calls.ErrBadOffer) {
		t.Errorf("the same credentials: %v, want ErrBadOffer", err)
	}
	for i := range max {
		if err := restart(ctx, b, s); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		flowsBothWays(t, b, phone, fmt.Sprintf("RTP both ways after restart %d", i+1))
	}
	// One more, with new credentials (another peer's offer: pion's own
	// restarts its ICE agent at CreateOffer, before the answer, where a
	// browser keeps its path until the answer comes or it rolls back).
	offer, err := calltest.NewTestBrowser(t, calltest.BrowserOptions{}).Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restart(offer); !errors.Is(err, calls.ErrRestartLimit) {
		t.Fatalf("restart %d: %v, want ErrRestartLimit", max+1, err)
	}
	flowsBothWays(t, b, phone, "RTP both ways after the refused restart")
	if n := e.Stats().ICERestarts; n != max {
		t.Errorf("%d ICE restarts counted, want %d", n, max)
	}
}
