package media

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/calltest"
)

// With media.ice.nat_1to1_ips, the answer's host candidates show the
// public address instead of the local one (a server behind 1:1 NAT).
func TestAnswer_NAT1To1AddressInCandidates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ICE.HostIPs = []string{"127.0.0.1"}
	cfg.ICE.NAT1To1IPs = []string{"203.0.113.7"}
	e, err := NewEngine(cfg, "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{Codecs: calltest.ChromeCodecs()})
	offer, err := b.Offer(calltest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	s, answer, err := e.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(answer, " 203.0.113.7 ") || strings.Contains(answer, " 127.0.0.1 ") {
		t.Errorf("candidates do not show the public address alone:\n%s", answer)
	}
	if !strings.Contains(answer, "a=rtpmap:126 telephone-event/8000") {
		t.Errorf("telephone-event is not the offer's 126:\n%s", answer)
	}
}

// The offer headless Chromium 156 makes for Talk now (an audio transceiver
// and a data channel), saved as it was: the answer keeps its payload types,
// PCMU as 0 and telephone-event/8000 as 126, and takes nothing else.
func TestAnswer_RealChromiumOffer(t *testing.T) {
	offer, err := os.ReadFile(filepath.Join("testdata", "chromium156_offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ICE.HostIPs = []string{"127.0.0.1"}
	e, err := NewEngine(cfg, "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s, answer, err := e.Answer(string(offer))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, want := range []string{"m=audio 9 UDP/TLS/RTP/SAVPF 0 126\r\n", "a=rtpmap:0 PCMU/8000", "a=rtpmap:126 telephone-event/8000",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel"} {
		if !strings.Contains(answer, want) {
			t.Errorf("the answer lacks %q:\n%s", want, answer)
		}
	}
}

// Past media.max_calls a new call, Talk now or callback, is refused with
// calls.ErrMediaFull naming the key; a call that ends frees its place.
func TestEngine_MaxCallsRefusesNewCallsAtOnce(t *testing.T) {
	offer, err := os.ReadFile(filepath.Join("testdata", "chromium156_offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ICE.HostIPs = []string{"127.0.0.1"}
	cfg.MaxCalls = 1
	e, err := NewEngine(cfg, "127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := e.Answer(string(offer))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Answer(string(offer)); !errors.Is(err, calls.ErrMediaFull) || !strings.Contains(err.Error(), "media.max_calls") {
		t.Fatalf("second Talk now call: %v, want ErrMediaFull naming media.max_calls", err)
	}
	if _, err := e.Bridge(); !errors.Is(err, calls.ErrMediaFull) {
		t.Fatalf("callback bridge: %v, want ErrMediaFull", err)
	}
	if n := e.Stats().Calls; n != 1 {
		t.Fatalf("%d calls counted, want 1", n)
	}
	s.Close()
	b, err := e.Bridge()
	if err != nil {
		t.Fatalf("after the first call ended: %v", err)
	}
	b.Close()
	if n := e.Stats().Calls; n != 0 {
		t.Fatalf("%d calls counted after both ended, want 0", n)
	}
}
