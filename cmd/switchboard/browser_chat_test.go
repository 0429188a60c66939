package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// A chat before a call, in Chromium: the visitor writes from the widget,
// alice's phone gets the message and answers (typing first, RFC 3994);
// the widget shows her name, that she types, her answer and the delivery
// of the visitor's message. Then Talk now rings alice, the chat's agent,
// and the transcript stays on screen through the call.
func TestBrowser_ChatBeforeACall(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	ctx, pageLog := newBrowser(t, chromium,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true))
	wait := waiter(t, ctx, p, pageLog)
	const host = `document.getElementById('switchboard-widget')`

	openWidget(t, ctx, "http://"+p.HTTP+"/")
	wait("billing available", rowShows("billing", "Billing", "Available now"))
	clickWidget(t, ctx, `label[for="sbw-g-billing"]`)
	wait("Chat enabled", `!`+button("Chat")+`.disabled`)
	clickWidget(t, ctx, `button[data-action="chat"]`)
	wait("the chat's input, focused", `!sbw('sbw-chat').hidden && `+host+`.shadowRoot.activeElement === sbw('sbw-chat-input')`)
	typeInto(t, ctx, "sbw-chat-input", "My bill doubled this month")
	clickWidget(t, ctx, `#sbw-chat-send`)

	intro := nextPage(t, alice, "text/plain")
	if first := nextPage(t, alice, "text/plain"); first.Body != "My bill doubled this month" {
		t.Fatalf("alice got %q", first.Body)
	}
	wait("chatting with Alice, the message delivered", host+`.dataset.chatState === 'open' &&
		sbw('sbw-panel').innerText.includes('Chatting with Alice.') &&
		sbwq('#sbw-chat-log [data-chat-id="c1"]').dataset.state === 'delivered'`)
	snap(t, ctx, "widget-chat", "#switchboard-widget")
	checkAxe(t, ctx, axeScript(t), "widget, chatting", "#switchboard-widget")

	cctx := calltest.Context(t)
	if code, err := alice.SendPage(cctx, intro.From, "application/im-iscomposing+xml", isComposingActive); err != nil || code != 200 {
		t.Fatalf("alice's isComposing: %d %v", code, err)
	}
	wait("Alice is typing", `sbw('sbw-typing').textContent === 'Alice is typing…'`)
	if code, err := alice.SendPage(cctx, intro.From, "text/plain;charset=UTF-8", "Let me look at your bill."); err != nil || code != 200 {
		t.Fatalf("alice's answer: %d %v", code, err)
	}
	wait("Alice's answer, no longer typing", `sbw('sbw-chat-log').innerText.includes('Alice: Let me look at your bill.') &&
		sbw('sbw-typing').textContent === ''`)

	// Talk now: alice's phone rings, the call talks with her.
	wait("Talk now enabled in the chat", `!`+button("Talk now")+`.disabled`)
	clickWidget(t, ctx, `button[data-action="talk"]`)
	if inv := calltest.Next(t, alice.Invites(), "the call at alice's phone"); inv == nil {
		t.Fatal("no INVITE")
	}
	wait("talking with Alice, the chat's transcript kept", host+`.dataset.callState === 'talking' &&
		`+host+`.dataset.chatState === 'ended' && sbw('sbw-chat-log').innerText.includes('Let me look at your bill.')`)
	if v := pageLog(chromedp.ConsoleException); v != "" {
		t.Errorf("the page threw:\n%s", v)
	}
	if strings.Contains(p.logs(), `"level":"ERROR"`) {
		t.Errorf("switchboard logged errors:\n%s", p.logs())
	}
}

// An agent with no desk phone chats in the console: alice works in the
// browser (softphone on); a visitor's chat reaches her console with the
// visitor's text, her reply and her typing reach the widget, the
// visitor's typing shows in the console; Talk now from the chat rings her
// console, she answers, and both talk; once she hung up, her day lists
// the chat and the call.
func TestBrowser_ConsoleAgentChatsThenTakesTheCall(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	base := "http://" + p.HTTP
	agentCtx, agentLog := newBrowser(t, chromium, fakeMicrophone(t, 600)...)
	agentWait := waiter(t, agentCtx, p, agentLog)
	if err := chromedp.Do(agentCtx, chromedp.Navigate(base+"/console")); err != nil {
		t.Fatal(err)
	}
	agentWait("the console's sign-in", `!!document.getElementById('sbc-token')`)
	js(t, agentCtx, `document.getElementById('sbc-token').value = 'alice-demo-token-change-me';
		document.getElementById('sbc-login').requestSubmit()`)
	agentWait("signed in", `document.getElementById('sbc-login').hidden`)
	clickOn(t, agentCtx, "#sbc-phone-toggle")
	agentWait("the softphone on, alice available", `document.getElementById('sbc-phone').dataset.state === 'idle' &&
		document.getElementById('sbc-agent').dataset.state === 'available'`)

	ctx, pageLog := newBrowser(t, chromium, fakeMicrophone(t, 1000)...)
	wait := waiter(t, ctx, p, pageLog)
	const host = `document.getElementById('switchboard-widget')`
	openWidget(t, ctx, base+"/")
	wait("billing available", rowShows("billing", "Billing", "Available now"))
	clickWidget(t, ctx, `label[for="sbw-g-billing"]`)
	clickWidget(t, ctx, `button[data-action="chat"]`)
	typeInto(t, ctx, "sbw-chat-input", "Is my router under warranty?")
	clickWidget(t, ctx, `#sbw-chat-send`)

	agentWait("the chat in the console", `!document.getElementById('sbc-text').hidden &&
		document.getElementById('sbc-text-log').innerText.includes('Web visitor: Is my router under warranty?')`)
	wait("chatting with Alice, delivered", host+`.dataset.chatState === 'open' &&
		sbwq('#sbw-chat-log [data-chat-id="c1"]').dataset.state === 'delivered'`)
	snap(t, agentCtx, "console-chat", "#sbc-phone")
	checkAxe(t, agentCtx, axeScript(t), "console, chatting", "body")

	typeInto(t, ctx, "sbw-chat-input", "It is the white one")
	agentWait("the visitor typing, in the console", `document.getElementById('sbc-text-typing').textContent === 'Web visitor is typing…'`)
	js(t, agentCtx, `(i => { i.value = 'Yes, for two years.'; i.dispatchEvent(new Event('input')); })(document.getElementById('sbc-text-input'))`)
	wait("Alice typing, in the widget", `sbw('sbw-typing').textContent === 'Alice is typing…'`)
	js(t, agentCtx, `document.getElementById('sbc-text-form').requestSubmit()`)
	wait("Alice's reply", `sbw('sbw-chat-log').innerText.includes('Alice: Yes, for two years.')`)

	clickWidget(t, ctx, `button[data-action="talk"]`)
	agentWait("the console ringing", `document.getElementById('sbc-phone').dataset.state === 'ringing'`)
	clickOn(t, agentCtx, "#sbc-answer")
	agentWait("the console talking", `document.getElementById('sbc-phone').dataset.state === 'talking'`)
	wait("the visitor talking with Alice", host+`.dataset.callState === 'talking' && `+host+`.dataset.chatState === 'ended'`)

	// Her day: the chat that became a call, and the call she hung up.
	clickOn(t, agentCtx, "#sbc-hangup")
	agentWait("today's contacts", `(rows => rows.length === 2 &&
		rows[0].innerText.includes('Talk now') && rows[0].innerText.includes('you hung up') &&
		rows[1].innerText.includes('Chat') && rows[1].innerText.includes('became a call'))(
		document.querySelectorAll('#sbc-history tbody tr')) &&
		document.getElementById('sbc-day').textContent.startsWith('2 contacts, ')`)
	checkAxe(t, agentCtx, axeScript(t), "console, the day's contacts", "body")
	for who, log := range map[string]func(...chromedp.ConsoleType) string{"console": agentLog, "visitor's page": pageLog} {
		if exceptions := log(chromedp.ConsoleException); exceptions != "" {
			t.Errorf("the %s threw:\n%s", who, exceptions)
		}
	}
}
