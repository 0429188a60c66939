package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/calltest"
)

// sse is one server-sent event.
type sse struct{ name, id, data string }

// followEvents reads the server-sent events of url into a channel until
// the stream ends or the test does.
func followEvents(t *testing.T, url string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	out := make(chan sse, 64)
	go func() {
		defer close(out)
		defer res.Body.Close()
		r, ev := bufio.NewReader(res.Body), sse{}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch line = strings.TrimRight(line, "\r\n"); {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

// nextEvent waits for the next event of events that match says matches.
func nextEvent(t *testing.T, events <-chan sse, what string, match func(sse) bool) sse {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("waiting for %s: the stream ended", what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("waiting for %s: no such event", what)
		}
	}
}

// nextPage waits for the agent's next MESSAGE outside a call of type
// contentType (a prefix: text/plain, application/im-iscomposing+xml).
func nextPage(t *testing.T, a *calltest.Agent, contentType string) calltest.Page {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case p := <-a.Pages():
			if strings.HasPrefix(p.ContentType, contentType) {
				return p
			}
		case <-deadline:
			t.Fatalf("the agent got no %s MESSAGE", contentType)
		}
	}
}

// postJSON sends body to url with method and returns the status and the
// answer's body.
func postJSON(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

const isComposingActive = `<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
  <state>active</state><contenttype>text/plain</contenttype><refresh>60</refresh>
</isComposing>`

// A chat before a call, with SIP phones as real softphones handle text:
// bob's phone takes no text (415), so the chat goes to alice; her phone
// gets who writes, then the visitor's first message, from the visitor's
// own URI; her "typing" (RFC 3994) and her answer reach the visitor's
// event stream, the visitor's typing and next message reach her phone,
// each message with its delivery; bob may not write into her chat. Then
// Talk now in the chat rings alice ahead of the queue, and the chat ends
// as the call takes over.
func TestChat_BeforeACallThenTheSameAgentTakesTheCall(t *testing.T) {
	p := startCallServer(t)
	bob := calltest.NewTestAgent(t, calltest.AgentOptions{Server: p.UDP, User: "bob", Password: "bob-secret",
		Behaviour: calltest.Behaviour{Action: calltest.Answer}, RefuseChat: 415})
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	base := "http://" + p.HTTP

	status, body := postJSON(t, "POST", base+"/v1/chats", map[string]string{"group": "support", "id": "m1",
		"text": "My box keeps restarting"})
	if status != http.StatusCreated {
		t.Fatalf("POST /v1/chats: %d %s", status, body)
	}
	var chat struct {
		ID    string `json:"chat_id"`
		State string `json:"state"`
	}
	json.Unmarshal(body, &chat)
	events := followEvents(t, base+"/v1/chats/"+chat.ID+"/events")

	intro := nextPage(t, alice, "text/plain")
	if !strings.HasPrefix(intro.Body, "[Chat from Web visitor: group support") {
		t.Errorf("first MESSAGE %q: want who writes and from where", intro.Body)
	}
	if intro.From.User != "visitor-"+chat.ID {
		t.Errorf("the MESSAGE comes from %s, want the visitor's own URI", intro.From.String())
	}
	if first := nextPage(t, alice, "text/plain"); first.Body != "My box keeps restarting" {
		t.Errorf("second MESSAGE %q, want the visitor's", first.Body)
	}
	nextEvent(t, events, "the chat open with Alice", func(e sse) bool {
		return e.name == "chat" && strings.Contains(e.data, `"state":"open"`) && strings.Contains(e.data, `"agent":"Alice"`)
	})
	nextEvent(t, events, "m1 delivered", func(e sse) bool {
		return e.name == "line" && e.data == `{"type":"delivered","id":"m1"}`
	})

	ctx := calltest.Context(t)
	if code, err := alice.SendPage(ctx, intro.From, "application/im-iscomposing+xml", isComposingActive); err != nil || code != 200 {
		t.Fatalf("alice's isComposing: %d %v", code, err)
	}
	nextEvent(t, events, "Alice typing", func(e sse) bool { return e.name == "chat" && strings.Contains(e.data, `"typing":true`) })
	if code, err := alice.SendPage(ctx, intro.From, "text/plain;charset=UTF-8", "Hello, I am Alice. Which lights are on?"); err != nil || code != 200 {
		t.Fatalf("alice's answer: %d %v", code, err)
	}
	nextEvent(t, events, "Alice's answer", func(e sse) bool {
		return e.name == "line" && e.data == `{"type":"message","text":"Hello, I am Alice. Which lights are on?"}`
	})
	if code, err := bob.SendPage(ctx, intro.From, "text/plain", "I am not her"); err != nil || code != 403 {
		t.Errorf("bob writing into alice's chat: %d %v, want 403", code, err)
	}

	if status, body := postJSON(t, "PUT", base+"/v1/chats/"+chat.ID+"/typing", map[string]bool{"active": true}); status != 204 {
		t.Fatalf("PUT typing: %d %s", status, body)
	}
	if p := nextPage(t, alice, "application/im-iscomposing+xml"); !strings.Contains(p.Body, "<state>active</state>") {
		t.Errorf("isComposing to alice: %q", p.Body)
	}
	if status, body := postJSON(t, "POST", base+"/v1/chats/"+chat.ID+"/messages",
		map[string]string{"id": "m2", "text": "The red one blinks"}); status != 202 {
		t.Fatalf("POST message: %d %s", status, body)
	}
	if p := nextPage(t, alice, "text/plain"); p.Body != "The red one blinks" {
		t.Errorf("alice got %q", p.Body)
	}
	nextEvent(t, events, "m2 delivered", func(e sse) bool { return e.name == "line" && e.data == `{"type":"delivered","id":"m2"}` })

	// Talk now from the chat: alice rings, though bob is free and better
	// skilled for support.
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	var id string
	err := b.Connect(ctx, func(ctx context.Context, offer string) (string, error) {
		status, body := postJSON(t, "POST", base+"/v1/calls", map[string]string{"group": "support", "sdp": offer, "chat_id": chat.ID})
		var v callView
		if err := json.Unmarshal(body, &v); err != nil || status != 201 {
			t.Fatalf("POST /v1/calls: %d %s", status, body)
		}
		id = v.ID
		return v.SDP, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := waitCall(t, p, id, "talking", ""); v.Agent != "Alice" {
		t.Errorf("the call talks with %q, want Alice, the chat's agent", v.Agent)
	}
	nextEvent(t, events, "the chat ended by the call", func(e sse) bool {
		return e.name == "chat" && strings.Contains(e.data, `"state":"ended"`) && strings.Contains(e.data, `"reason":"call"`)
	})
	select {
	case inv := <-bob.Invites():
		t.Errorf("bob's phone rang: %s", inv.StartLine())
	default:
	}
}

// The visitor leaves a chat: the agent's phone is told, and the chat's
// events end with the reason; an unknown chat is a 404 with a JSON body,
// and a message too long a 400.
func TestChat_VisitorLeavesAndLimits(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	base := "http://" + p.HTTP
	status, body := postJSON(t, "POST", base+"/v1/chats", map[string]string{"group": "billing", "text": "hello"})
	if status != http.StatusCreated {
		t.Fatalf("POST /v1/chats: %d %s", status, body)
	}
	var chat struct {
		ID string `json:"chat_id"`
	}
	json.Unmarshal(body, &chat)
	nextPage(t, alice, "text/plain") // who writes
	if p := nextPage(t, alice, "text/plain"); p.Body != "hello" {
		t.Fatalf("alice got %q", p.Body)
	}
	if status, body := postJSON(t, "POST", base+"/v1/chats/"+chat.ID+"/messages",
		map[string]string{"id": "m2", "text": strings.Repeat("x", 4097)}); status != 400 || !strings.Contains(string(body), `"bad_text"`) {
		t.Errorf("a message of 4097 bytes: %d %s, want 400 bad_text", status, body)
	}
	if status, body := postJSON(t, "POST", base+"/v1/chats/nosuchchat/messages",
		map[string]string{"id": "m2", "text": "hi"}); status != 404 || !strings.Contains(string(body), `"unknown_chat"`) {
		t.Errorf("an unknown chat: %d %s, want 404 unknown_chat", status, body)
	}
	events := followEvents(t, base+"/v1/chats/"+chat.ID+"/events")
	if status, _ := postJSON(t, "DELETE", base+"/v1/chats/"+chat.ID, nil); status != 204 {
		t.Fatalf("DELETE: %d", status)
	}
	if p := nextPage(t, alice, "text/plain"); p.Body != "[The chat has ended: the visitor left.]" {
		t.Errorf("alice was told %q", p.Body)
	}
	nextEvent(t, events, "the chat ended", func(e sse) bool {
		return e.name == "chat" && strings.Contains(e.data, `"reason":"visitor-left"`)
	})
	if status, body := postJSON(t, "POST", base+"/v1/chats/"+chat.ID+"/messages",
		map[string]string{"id": "m3", "text": "still there?"}); status != 409 {
		t.Errorf("a message to an ended chat: %d %s, want 409", status, body)
	}
}
