package main

import (
	"context"
	bin "encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// Mute in the widget, in headless Chromium whose microphone plays a
// steady 1 kHz tone: the agent hears the tone, then silence while muted
// (packets still flowing, the call still talking), then the tone again;
// the widget's microphone meter moves, and rests while muted.
func TestBrowser_MuteSendsSilenceThenTheVoiceAgain(t *testing.T) {
	ctx, pageLog, wait, call := talkingWithTone(t)
	loud := func() bool { return call.Level() > -30 }
	wait("the widget's microphone meter moving", `sbw('sbw-level').value > 0.05`)
	clickWidget(t, ctx, `#sbw-keypad-toggle`)
	wait("the keypad open", `!sbw('sbw-keypad').hidden`)
	checkAxe(t, ctx, axeScript(t), "widget, talking with the keypad open", "#switchboard-widget")
	snap(t, ctx, "widget-talking", "#switchboard-widget")

	clickWidget(t, ctx, `#sbw-mute`) // mute
	wait("muted", `document.getElementById('switchboard-widget').dataset.muted === 'true' &&
		sbw('sbw-mute').getAttribute('aria-pressed') === 'true'`)
	from := call.RTPReceived()
	calltest.Eventually(t, "silence at the agent, packets still coming", func() bool {
		return call.Level() < -60 && call.RTPReceived() > from+25
	})
	wait("still talking, the meter at rest", `document.getElementById('switchboard-widget').dataset.callState === 'talking' &&
		sbw('sbw-level').value < 0.01`)
	clickWidget(t, ctx, `#sbw-mute`) // unmute
	calltest.Eventually(t, "the tone again after unmuting", loud)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// talkingWithTone has the demo page in Chromium, whose microphone plays a
// steady 1 kHz tone, talk with alice, an answering SIP agent, and returns
// her call once she hears the tone.
func talkingWithTone(t *testing.T) (context.Context, func(...chromedp.ConsoleType) string, func(what, predicate string), *calltest.Call) {
	t.Helper()
	chromium := chromiumPath(t)
	return talkingWithToneAfter(t, chromium, startCallServer(t), nil)
}

// talkingWithToneAfter is talkingWithTone on p, with prepare, when not
// nil, run on the browser's tab before the page opens.
func talkingWithToneAfter(t *testing.T, chromium string, p *proc, prepare func(ctx context.Context)) (context.Context,
	func(...chromedp.ConsoleType) string, func(what, predicate string), *calltest.Call) {
	t.Helper()
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	ctx, pageLog, wait := talkingInChromiumAfter(t, chromium, p, prepare,
		chromedp.Flag("use-file-for-fake-audio-capture", toneWAV(t, 1000)))
	call := alice.Call()
	if call == nil {
		t.Fatal("the agent has no call")
	}
	calltest.Eventually(t, "the visitor's tone at the agent", func() bool { return call.Level() > -30 })
	return ctx, pageLog, wait, call
}

// toneWAV writes two seconds of a sine at freq Hz (16-bit mono, 48 kHz,
// -6 dBFS) as a WAV file, which Chromium's fake microphone loops.
func toneWAV(t *testing.T, freq float64) string {
	t.Helper()
	const rate, seconds = 48000, 2
	data := make([]byte, 0, rate*seconds*2)
	for i := range rate * seconds {
		v := int16(16384 * math.Sin(2*math.Pi*freq*float64(i)/rate))
		data = bin.LittleEndian.AppendUint16(data, uint16(v))
	}
	h := []byte("RIFF")
	h = bin.LittleEndian.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = bin.LittleEndian.AppendUint32(h, 16)
	h = bin.LittleEndian.AppendUint16(h, 1) // PCM
	h = bin.LittleEndian.AppendUint16(h, 1) // mono
	h = bin.LittleEndian.AppendUint32(h, rate)
	h = bin.LittleEndian.AppendUint32(h, rate*2)
	h = bin.LittleEndian.AppendUint16(h, 2)
	h = bin.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = bin.LittleEndian.AppendUint32(h, uint32(len(data)))
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(path, append(h, data...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Leaving the page mid-call asks first: staying keeps the call; leaving
// hangs it up, and the agent gets a BYE.
func TestBrowser_LeavingMidCallAsksFirst(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	ctx, pageLog, wait := talkingInChromium(t, chromium, p)
	dialogs := make(chan page.EventJavascriptDialogOpening, 4)
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			dialogs <- ev
		}
	}()
	leave := func(stay bool) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => { location.href = '/openapi.json'; }, 0)`)); err != nil {
			t.Fatal(err)
		}
		ev := calltest.Next(t, dialogs, "the browser asking before leaving")
		if ev.Type != page.DialogTypeBeforeunload {
			t.Fatalf("a %s dialog, want beforeunload", ev.Type)
		}
		if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: !stay}); err != nil {
			t.Fatal(err)
		}
	}
	leave(true)
	wait("still talking after staying", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)
	leave(false)
	for {
		ev := calltest.Next(t, alice.Events(), "the agent's BYE once the visitor left")
		if ev.Kind == calltest.EventBye {
			break
		}
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// The visitor picks another microphone and speaker mid-call (Chromium's
// fake devices): the new microphone's track replaces the old one on the
// connection, the agent keeps hearing the visitor, and the call's audio
// goes to the speaker chosen.
func TestBrowser_MicrophoneAndSpeakerChoiceMidCall(t *testing.T) {
	ctx, pageLog, wait, call := talkingWithTone(t)
	wait("microphones and speakers listed", `!sbw('sbw-mic').hidden &&
		!sbw('sbw-spk').hidden &&
		[...sbw('sbw-mic').options].some(o => o.text === 'Fake Audio Input 1')`)
	choose := func(id, label string) {
		t.Helper()
		js := fmt.Sprintf(`(s => { const o = [...s.options].find(o => o.text === %q); s.value = o.value;
			s.dispatchEvent(new Event('change', {bubbles: true})); return true; })(sbw(%q))`, label, id)
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
			t.Fatalf("choose %s in #%s: %v", label, id, err)
		}
	}
	choose("sbw-mic", "Fake Audio Input 1")
	wait("the call on the chosen microphone", `window.switchboardCall.mic.getAudioTracks()[0].label === 'Fake Audio Input 1' &&
		window.switchboardCall.sender.track === window.switchboardCall.mic.getAudioTracks()[0]`)
	from := call.RTPReceived()
	calltest.Eventually(t, "the visitor still heard", func() bool { return call.Level() > -30 && call.RTPReceived() > from+25 })
	choose("sbw-spk", "Fake Audio Output 1")
	wait("the call's audio on the chosen speaker", `sbw('sbw-audio').sinkId ===
		sbw('sbw-spk').value && sbw('sbw-spk').value !== 'default'`)
	wait("still talking", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}
