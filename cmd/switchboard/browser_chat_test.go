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
