package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// TestBrowser_NoMicrophoneCallbackReachesTheTrunk: in headless Chromium
// without a microphone Talk now cannot make a data connection, so the
// widget offers the callback form; the number sent there is called
// through the trunk (a SIPp UAS) once the agent (a sipgo phone) answers.
func TestBrowser_NoMicrophoneCallbackReachesTheTrunk(t *testing.T) {
	chromium := chromiumPath(t)
	sipp := lookSIPp(t)
	port := freeUDPPort(t)
	uas := startSIPpUAS(t, sipp, port, "-trace_msg", "-message_file", "messages.log")

	p := startCallServer(t, "trunk.port="+strconv.Itoa(port))
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	ctx, pageLog := newBrowser(t, chromium) // no fake devices: getUserMedia fails
	wait := waiter(t, ctx, p, pageLog)
	talkNow(t, ctx, p, wait, "billing")
	wait("the callback form, offered by itself", `document.getElementById('switchboard-widget').dataset.callbackState === 'form'`)
	typeInto(t, ctx, "sbw-cb-phone", "06 12 34 56 78")
	clickWidget(t, ctx, `#sbw-cb-send`)

	ac := calltest.Next(t, alice.Answered(), "the agent called first")
	if got := ac.Header("Switchboard-Phone"); got != "+33612345678" {
		t.Errorf("the agent was shown %q", got)
	}
	wait("talking", `document.getElementById('switchboard-widget').dataset.callbackState === 'talking'`)
	if err := ac.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	if err := uas.Wait(); err != nil { // SIPp answered one call and got its BYE
		t.Errorf("sipp trunk: %v", err)
	}
	msgs, _ := os.ReadFile(filepath.Join(uas.Dir, "messages.log"))
	if !strings.Contains(string(msgs), "INVITE sip:+33612345678@127.0.0.1") {
		t.Errorf("the trunk did not get an INVITE to the visitor's number:\n%.2000s", msgs)
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// TestBrowser_ConsoleTakesAndCompletesACallback signs an agent in on the
// console page, which lists a waiting callback with the visitor's number;
// the agent takes it by hand and marks it done.
func TestBrowser_ConsoleTakesAndCompletesACallback(t *testing.T) {
	chromium := chromiumPath(t)
	_, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	p := startCallServer(t, "trunk.port="+port, "acd.wrap_up=1h")
	cb := callbackWhileBusy(t, p)

	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+p.HTTP+"/console")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#sbc-token`), "bob-demo-token-change-me")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbc-login button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	row := `document.querySelector('#sbc-callbacks tr[data-callback="` + cb.ID + `"]')`
	wait("the callback listed with its number", `(r => !!r && r.dataset.state === 'queued' &&
		r.querySelector('a.sbc-phone').getAttribute('href') === 'tel:+33612345678' && r.innerText.includes('Ada'))(`+row+`)`)
	wait("the live call listed", `document.querySelectorAll('#sbc-calls tr[data-call]').length === 1`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbc-callbacks tr[data-callback="`+cb.ID+`"] button[data-action="take"]`))); err != nil {
		t.Fatal(err)
	}
	wait("taken by bob, with Done", `(r => !!r && r.dataset.state === 'taken' && !!r.querySelector('button[data-action="done"]'))(`+row+`)`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbc-callbacks tr[data-callback="`+cb.ID+`"] button[data-action="done"]`))); err != nil {
		t.Fatal(err)
	}
	waitCallback(t, p, cb.ID, "done")
	wait("the callback gone from the list", `!`+row)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// TestBrowser_LongWaitOffersACallback: with every agent busy the widget
// shows the group busy and still offers Talk now; the call queues, and
// once it has waited past the group's max_wait the widget opens its
// callback form while the call keeps its place.
func TestBrowser_LongWaitOffersACallback(t *testing.T) {
	chromium := chromiumPath(t)
	p := busyWithMaxWait(t, "2s")

	ctx, pageLog := newBrowser(t, chromium,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true))
	wait := waiter(t, ctx, p, pageLog)
	openWidget(t, ctx, "http://"+p.HTTP+"/")
	wait("billing busy", rowShows("billing", "Billing", "Open, all agents busy"))
	clickWidget(t, ctx, `label[for="sbw-g-billing"]`)
	wait("Talk now enabled", `!`+button("Talk now")+`.disabled`)
	clickWidget(t, ctx, `button[data-action="talk"]`)
	wait("the callback form, the call still queued", `(w => w.dataset.callbackState === 'form' && w.dataset.callState === 'queued')(
		document.getElementById('switchboard-widget'))`)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}
