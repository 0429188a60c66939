package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// TestBrowser_ConsoleHoldsAndTransfersASIPPhonesCall: alice takes calls
// on a SIP phone (a sipgo phone that echoes) and watches her console; a
// visitor in Chromium (its microphone plays 1000 Hz) clicks Talk now and
// talks with her. The console shows her call's controls; alice clicks
// Hold, and the visitor hears the hold chime instead of her phone's
// echo; Resume (the same toggle), and the echo again; then Transfer to
// bob, confirmed: alice's phone gets a BYE, bob's phone rings with the
// same call and answers, and the visitor's call, the same id, talks with
// Bob.
func TestBrowser_ConsoleHoldsAndTransfersASIPPhonesCall(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	bob := agent(t, p, "bob", calltest.Behaviour{Action: calltest.Answer}, false)

	agentCtx, agentLog := newBrowser(t, chromium)
	agentWait := waiter(t, agentCtx, p, agentLog)
	if err := chromedp.Do(agentCtx, chromedp.Navigate("http://"+p.HTTP+"/console")); err != nil {
		t.Fatal(err)
	}
	agentWait("the console's sign-in", `!!document.getElementById('sbc-token')`)
	js(t, agentCtx, `document.getElementById('sbc-token').value = 'alice-demo-token-change-me';
		document.getElementById('sbc-login').requestSubmit()`)
	agentWait("signed in, no call of hers", `document.getElementById('sbc-login').hidden &&
		document.getElementById('sbc-mycall').hidden`)

	visitorCtx, visitorLog := newBrowser(t, chromium, fakeMicrophone(t, 1000)...)
	listenToRemoteAudio(t, visitorCtx)
	visitorWait := waiter(t, visitorCtx, p, visitorLog)
	talkNow(t, visitorCtx, p, visitorWait, "billing")
	ac := calltest.Next(t, alice.Answered(), "alice's phone answered")
	visitorWait("the visitor talking", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)
	hears(t, visitorCtx, "the visitor hears alice's phone echo its 1000 Hz", 1000, holdLow)

	agentWait("her call's controls, not held", `!document.getElementById('sbc-mycall').hidden &&
		document.getElementById('sbc-hold').getAttribute('aria-pressed') === 'false' &&
		!!document.querySelector('#sbc-transfer-to option[value="agent:sip:bob@example.com"]')`)
	id, err := chromedp.Run(agentCtx, chromedp.Evaluate[string](`document.getElementById('sbc-mycall').dataset.call`))
	if err != nil || id != ac.ID() {
		t.Fatalf("the console shows call %q (%v), alice's phone has %s", id, err, ac.ID())
	}
	if axe := axeIfInstalled(t); axe != "" {
		checkAxe(t, agentCtx, axe, "console, with the call's controls", "body")
	}
	snap(t, agentCtx, "console-call-controls", "#sbc-mycall")

	clickOn(t, agentCtx, "#sbc-hold")
	agentWait("held", `document.getElementById('sbc-hold').getAttribute('aria-pressed') === 'true' &&
		document.getElementById('sbc-hold-status').textContent !== ''`)
	if v := getCall(t, p, id); !v.Held {
		t.Errorf("the call's view after Hold: %+v", v)
	}
	hears(t, visitorCtx, "the visitor hears the hold chime, not the echo", holdLow, 1000)
	visitorWait("the widget says the call is on hold", `document.getElementById('switchboard-widget').dataset.held === 'true' &&
		sbw('sbw-panel').innerText.includes('On hold: Alice will be back in a moment.')`)
	clickOn(t, agentCtx, "#sbc-hold")
	agentWait("resumed", `document.getElementById('sbc-hold').getAttribute('aria-pressed') === 'false'`)
	visitorWait("the widget talking again", `document.getElementById('switchboard-widget').dataset.held === 'false' &&
		sbw('sbw-panel').innerText.includes('Talking with Alice.')`)
	hears(t, visitorCtx, "the echo again once resumed", 1000, holdLow)

	// Transfer, from the keyboard's point of view: choose, ask, confirm.
	if err := chromedp.Do(agentCtx, chromedp.SetValue(chromedp.CSS(`#sbc-transfer-to`), "agent:sip:bob@example.com")); err != nil {
		t.Fatal(err)
	}
	clickOn(t, agentCtx, "#sbc-transfer")
	agentWait("the confirmation, focused", `!document.getElementById('sbc-transfer-confirm').hidden &&
		document.activeElement === document.getElementById('sbc-transfer-ok') &&
		document.getElementById('sbc-transfer-q').textContent.includes('Bob')`)
	if axe := axeIfInstalled(t); axe != "" {
		checkAxe(t, agentCtx, axe, "console, confirming a transfer", "body")
	}
	clickOn(t, agentCtx, "#sbc-transfer-ok")
	calltest.NextEvent(t, alice, calltest.EventBye)
	bc := calltest.Next(t, bob.Answered(), "bob's phone answered")
	if bc.ID() != id {
		t.Errorf("bob's phone got call %s, want %s", bc.ID(), id)
	}
	if v := waitCall(t, p, id, "talking", ""); v.Agent != "Bob" {
		t.Errorf("after the transfer: talking with %q, want Bob", v.Agent)
	}
	visitorWait("the visitor still talking", `document.getElementById('switchboard-widget').dataset.callState === 'talking'`)
	hears(t, visitorCtx, "the visitor hears bob's phone echo its 1000 Hz", 1000, holdLow)
	agentWait("alice's controls gone", `document.getElementById('sbc-mycall').hidden`)
	for who, log := range map[string]func(...chromedp.ConsoleType) string{"console": agentLog, "visitor's page": visitorLog} {
		if exceptions := log(chromedp.ConsoleException); exceptions != "" {
			t.Errorf("the %s threw:\n%s", who, exceptions)
		}
	}
}
