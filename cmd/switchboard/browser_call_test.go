package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/calltest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// TestBrowser_TalkNowToSIPpEchoAgent clicks Talk now on the demo page in
// headless Chromium (fake microphone) and talks to a SIPp UAS that echoes
// RTP: the page's getStats() must show audio coming back, with energy.
func TestBrowser_TalkNowToSIPpEchoAgent(t *testing.T) {
	chromium := chromiumPath(t)
	sipp := lookSIPp(t)
	p := startCallServer(t)

	// The agent's phone: SIPp answering on a port of its own, with RTP echo.
	port := freeUDPPort(t)
	uas := startSIPpUAS(t, sipp, port, "-rtp_echo")

	phone := siptest.NewPeer(t)
	reg := phone.Request("REGISTER", "sip:example.com", "alice", p.UDP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	reg.RemoveHeader("Contact")
	reg.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: port}})
	if res := phone.DoAuth(reg, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}

	ctx, pageLog, wait := talkingInChromium(t, chromium, p)

	// The echo of the fake microphone's audio comes back through the relay.
	const inbound = `(async () => {
		const stats = await window.switchboardCall.pc.getStats();
		for (const r of stats.values()) {
			if (r.type === 'inbound-rtp' && r.kind === 'audio') {
				return JSON.stringify({packets: r.packetsReceived, energy: r.totalAudioEnergy || 0});
			}
		}
		return '{}';
	})()`
	var got struct {
		Packets int     `json:"packets"`
		Energy  float64 `json:"energy"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for got.Packets < 50 || got.Energy <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("inbound audio: %+v; want packets and energy\npage console:\n%s\nswitchboard log:\n%s", got, pageLog(), p.logs())
		}
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](inbound, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(s), &got)
		if got.Packets < 50 || got.Energy <= 0 {
			chromedp.Run(ctx, chromedp.Poll[bool](`true`, chromedp.WithPollingTimeout(200*time.Millisecond)))
		}
	}
	t.Logf("inbound audio at the page: %d packets, total energy %.4f", got.Packets, got.Energy)

	clickWidget(t, ctx, `#sbw-hangup`)
	wait("ended", `document.getElementById('switchboard-widget').dataset.callState === 'ended'`)
	if err := uas.Wait(); err != nil { // SIPp got the BYE and ended its one call
		b, _ := os.ReadFile(filepath.Join(uas.Dir, "agent_uas_errors.log"))
		t.Errorf("sipp UAS: %v\n%s", err, b)
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// TestBrowser_KeypadAndChatMidCall presses a digit on the widget's keypad
// in headless Chromium while talking to a SIP agent: the agent receives the
// RFC 4733 digit (Chrome sends it with the answer's payload type) and keeps
// receiving the visitor's audio afterwards. A chat line reaches the agent
// and is marked delivered.
func TestBrowser_KeypadAndChatMidCall(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	ctx, pageLog, wait := talkingInChromium(t, chromium, p)

	flowing := func(what string) {
		t.Helper()
		from := alice.RTPReceived()
		calltest.Eventually(t, what, func() bool { return alice.RTPReceived() >= from+50 })
	}
	flowing("the visitor's audio at the agent before the digit")
	wait("the keypad hidden until asked for", `sbw('sbw-keypad').hidden`)
	clickWidget(t, ctx, `#sbw-keypad-toggle`)
	wait("the keypad shown", `!sbw('sbw-keypad').hidden &&
		sbw('sbw-keypad-toggle').getAttribute('aria-expanded') === 'true'`)
	clickWidget(t, ctx, `#sbw-keypad button[data-digit="7"]`)
	if got := calltest.Next(t, alice.DTMF(), "the keypad digit at the agent"); got != '7' {
		t.Errorf("digit %q, want 7", got)
	}
	flowing("the visitor's audio at the agent after the digit")
	wait("still talking", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)

	typeInto(t, ctx, "sbw-chat-input", "bonjour")
	clickWidget(t, ctx, `#sbw-chat-send`)
	if got := calltest.Next(t, alice.Messages(), "the chat at the agent"); got != "bonjour" {
		t.Errorf("agent got %q", got)
	}
	wait("the chat line marked delivered", `(p => !!p && p.dataset.state === 'delivered')(
		sbwq('#sbw-chat-log [data-chat-id="m1"]'))`)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// talkingInChromium opens the demo page in headless Chromium with a fake
// microphone, clicks Talk now for billing and waits until the call talks.
func talkingInChromium(t *testing.T, chromium string, p *proc, extra ...chromedp.ExecAllocatorOption) (context.Context, func(...chromedp.ConsoleType) string, func(what, predicate string)) {
	t.Helper()
	return talkingInChromiumAfter(t, chromium, p, nil, extra...)
}

// talkingInChromiumAfter is talkingInChromium with prepare, when not nil,
// run on the browser's tab before the page opens.
func talkingInChromiumAfter(t *testing.T, chromium string, p *proc, prepare func(ctx context.Context),
	extra ...chromedp.ExecAllocatorOption) (context.Context, func(...chromedp.ConsoleType) string, func(what, predicate string)) {
	t.Helper()
	ctx, pageLog := newBrowser(t, chromium, append([]chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true)}, extra...)...)
	if prepare != nil {
		prepare(ctx)
	}
	wait := waiter(t, ctx, p, pageLog)
	talkNow(t, ctx, p, wait, "billing")
	wait("talking", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)
	return ctx, pageLog, wait
}

// startSIPpUAS runs testdata/sipp/agent_uas.xml for one call on
// 127.0.0.1:port (its media on another free port), in a directory of its
// own (uas.Dir), with extra arguments; the test ends it if it still runs.
func startSIPpUAS(t *testing.T, sipp string, port int, extra ...string) *exec.Cmd {
	t.Helper()
	sippDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sipp"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	uas := exec.CommandContext(ctx, sipp, append([]string{"-sf", filepath.Join(sippDir, "agent_uas.xml"),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)),
		"-m", "1", "-nostdin", "-trace_err"}, extra...)...)
	uas.Dir = t.TempDir()
	if err := uas.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { uas.Process.Kill(); uas.Wait(); cancel() })
	return uas
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
