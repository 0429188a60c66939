package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The agent console's browser softphone, in headless Chromium: alice signs
// in with her token and turns "Use this browser as my phone" on (her fake
// microphone plays 600 Hz), which makes her available with no SIP phone;
// a visitor (another Chromium, 1000 Hz) who read the pricing page in
// French clicks Talk now; the console rings with the visitor's context
// (group, language, page), alice answers, and each side hears the
// other's tone on the track it receives (an AnalyserNode's FFT bins);
// alice mutes, and the visitor hears silence while the call goes on;
// unmuted, the tone again; alice hangs up, and the visitor's call ends;
// turning the softphone off makes her offline.
func TestBrowser_SoftphoneAnswersAVisitorBothWays(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	base := "http://" + p.HTTP

	agentCtx, agentLog := newBrowser(t, chromium, fakeMicrophone(t, 600)...)
	listenToRemoteAudio(t, agentCtx)
	agentWait := waiter(t, agentCtx, p, agentLog)
	if err := chromedp.Do(agentCtx, chromedp.Navigate(base+"/console")); err != nil {
		t.Fatal(err)
	}
	agentWait("the console's sign-in", `!!document.getElementById('sbc-token')`)
	js(t, agentCtx, `document.getElementById('sbc-token').value = 'alice-demo-token-change-me';
		document.getElementById('sbc-login').requestSubmit()`)
	agentWait("signed in, offline without a phone", `document.getElementById('sbc-login').hidden &&
		document.getElementById('sbc-agent').dataset.state === 'offline'`)
	clickOn(t, agentCtx, "#sbc-phone-toggle")
	agentWait("the softphone on, alice available", `document.getElementById('sbc-phone').dataset.state === 'idle' &&
		document.getElementById('sbc-agent').dataset.state === 'available'`)
	clickOn(t, agentCtx, `#sbc-agent button[data-action="available"]`)
	agentWait("available, as she chose", `document.querySelector('#sbc-agent button[data-action="available"]')
		.getAttribute('aria-pressed') === 'true'`)

	visitorCtx, visitorLog := newBrowser(t, chromium, fakeMicrophone(t, 1000)...)
	listenToRemoteAudio(t, visitorCtx)
	visitorWait := waiter(t, visitorCtx, p, visitorLog)
	// The visitor has read the pricing page in French: its context cookie
	// says so (as a site's own pages would set it).
	if err := chromedp.Do(visitorCtx, chromedp.Navigate(base+"/openapi.json")); err != nil {
		t.Fatal(err)
	}
	if status, err := chromedp.Run(visitorCtx, chromedp.Evaluate[int](`fetch('/v1/context', {method: 'POST',
		headers: {'Content-Type': 'application/json'}, body: JSON.stringify({language: 'fr', page: '/pricing'})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise)); err != nil || status != 200 {
		t.Fatalf("POST /v1/context: %d, %v", status, err)
	}
	talkNow(t, visitorCtx, p, visitorWait, "billing")

	agentWait("the console ringing with the visitor's context", `document.getElementById('sbc-phone').dataset.state === 'ringing' &&
		!document.getElementById('sbc-ring').hidden &&
		document.getElementById('sbc-ring-from').textContent === 'Web visitor' &&
		(dd => !!dd && dd.textContent.includes('(billing)'))(document.querySelector('#sbc-ring-ctx dd[data-key="group"]')) &&
		!!document.querySelector('#sbc-ring-ctx dd[data-key="language"]') &&
		!!document.querySelector('#sbc-ring-ctx dd[data-key="page"]')`)
	ring, _ := chromedp.Run(agentCtx, chromedp.Evaluate[string](`document.getElementById('sbc-ring').innerText`))
	t.Logf("the console rings:\n%s", ring)
	axe := axeIfInstalled(t)
	if axe != "" {
		checkAxe(t, agentCtx, axe, "console, the softphone ringing", "body")
	}
	snap(t, agentCtx, "console-softphone-ringing", "#sbc-phone")
	clickOn(t, agentCtx, "#sbc-answer")
	agentWait("the console talking", `document.getElementById('sbc-phone').dataset.state === 'talking'`)
	clickOn(t, agentCtx, "#sbc-keypad-toggle")
	agentWait("the keypad open", `!document.getElementById('sbc-keypad').hidden`)
	if axe != "" {
		checkAxe(t, agentCtx, axe, "console, talking with the keypad open", "body")
	}
	snap(t, agentCtx, "console-softphone-talking", "#sbc-phone")
	visitorWait("the visitor talking", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)

	// Each side hears the other's tone, and not its own.
	hears(t, agentCtx, "alice hears the visitor's 1000 Hz", 1000, 600)
	hears(t, visitorCtx, "the visitor hears alice's 600 Hz", 600, 1000)

	clickOn(t, agentCtx, "#sbc-mute")
	agentWait("muted", `document.getElementById('sbc-mute').getAttribute('aria-pressed') === 'true'`)
	silent(t, visitorCtx, "silence at the visitor while alice is muted", 600)
	visitorWait("still talking while muted", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)
	clickOn(t, agentCtx, "#sbc-mute")
	hears(t, visitorCtx, "alice's tone again once unmuted", 600, 1000)

	clickOn(t, agentCtx, "#sbc-hangup")
	visitorWait("the visitor's call ended by the agent", `document.getElementById('switchboard-widget').dataset.callState === 'ended'`)
	agentWait("the softphone free again", `document.getElementById('sbc-phone').dataset.state === 'idle'`)

	clickOn(t, agentCtx, "#sbc-phone-toggle")
	agentWait("offline once the softphone is off", `document.getElementById('sbc-phone').dataset.state === 'off' &&
		document.getElementById('sbc-agent').dataset.state === 'offline'`)
	for who, log := range map[string]func(...chromedp.ConsoleType) string{"console": agentLog, "visitor's page": visitorLog} {
		if exceptions := log(chromedp.ConsoleException); exceptions != "" {
			t.Errorf("the %s threw:\n%s", who, exceptions)
		}
	}
}

// axeIfInstalled is axe-core's script when `make deps` installed it, ""
// otherwise: the softphone's checks do not depend on it.
func axeIfInstalled(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", ".cache", "axe-core", "node_modules", "axe-core", "axe.min.js")); err != nil {
		return ""
	}
	return axeScript(t)
}

// fakeMicrophone are the flags of a Chromium whose microphone plays a
// steady tone of freq Hz, granted without asking, and whose pages may
// play audio without a gesture.
func fakeMicrophone(t *testing.T, freq float64) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", toneWAV(t, freq)),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
}

// remoteAudio keeps, in every page of the tab, the audio track the page's
// peer connection receives (window.__remote), without touching the page's
// own elements, and window.__levels(freqs): the level in dB of each
// frequency's bin in an FFT of that track (AnalyserNode, 8192 points,
// about 6 Hz a bin at 48 kHz), -999 for silence.
const remoteAudio = `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig) return;
  window.RTCPeerConnection = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('track', e => { if (e.track.kind === 'audio') window.__remote = e.track; });
    }
  };
  window.__levels = freqs => {
    const track = window.__remote;
    if (!track || track.readyState !== 'live') return null;
    let m = window.__meter;
    if (!m || m.track !== track) {
      const ctx = new AudioContext(), an = ctx.createAnalyser();
      an.fftSize = 8192;
      an.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(new MediaStream([track])).connect(an);
      m = window.__meter = {track, ctx, an, bins: new Float32Array(an.frequencyBinCount)};
    }
    if (m.ctx.state !== 'running') m.ctx.resume();
    m.an.getFloatFrequencyData(m.bins);
    const at = f => Math.round(f * m.an.fftSize / m.ctx.sampleRate);
    return freqs.map(f => {
      const v = Math.max(...[-2, -1, 0, 1, 2].map(d => m.bins[at(f) + d]));
      return Number.isFinite(v) ? Math.max(v, -999) : -999;
    });
  };
})();`

// listenToRemoteAudio installs remoteAudio in the tab's pages to come.
func listenToRemoteAudio(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: remoteAudio}); err != nil {
		t.Fatal(err)
	}
}

// hears waits until the page receives freq loud (over -60 dB in its bin)
// and other at least 30 dB below it, and logs the figures.
func hears(t *testing.T, ctx context.Context, what string, freq, other float64) {
	t.Helper()
	levels := waitLevels(t, ctx, what, freq, other, `v[0] > -60 && v[0] > v[1] + 30`)
	t.Logf("%s: %.0f Hz at %.1f dB, %.0f Hz at %.1f dB", what, freq, levels[0], other, levels[1])
}

// silent waits until the page receives nothing at freq (under -90 dB).
func silent(t *testing.T, ctx context.Context, what string, freq float64) {
	t.Helper()
	levels := waitLevels(t, ctx, what, freq, freq, `v[0] < -90`)
	t.Logf("%s: %.0f Hz at %.1f dB", what, freq, levels[0])
}

// waitLevels polls __levels([a, b]) until cond holds of them (v), and
// returns them.
func waitLevels(t *testing.T, ctx context.Context, what string, a, b float64, cond string) []float64 {
	t.Helper()
	expr := fmt.Sprintf(`(v => v && (%s) ? JSON.stringify(v) : null)(window.__levels([%g, %g]))`, cond, a, b)
	out, err := chromedp.Run(ctx, chromedp.Poll[string](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		last, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`JSON.stringify(window.__levels([%g, %g]))`, a, b)))
		t.Fatalf("waiting for %s: %v (levels %s)", what, err, last)
	}
	var levels []float64
	if err := json.Unmarshal([]byte(out), &levels); err != nil || len(levels) != 2 {
		t.Fatalf("%s: levels %q: %v", what, out, err)
	}
	return levels
}

// clickOn clicks the page's element that selector names, with the mouse.
func clickOn(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		t.Fatalf("click %s: %v", selector, err)
	}
}

// js runs script in the page.
func js(t *testing.T, ctx context.Context, script string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](script)); err != nil {
		t.Fatal(err)
	}
}
