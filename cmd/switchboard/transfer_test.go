package main

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/calltest"
)

// The hold tone's notes (media/hold.go): C5, then E5.
const holdLow, holdHigh = 523.25, 659.25

const aliceToken = "alice-demo-token-change-me"

// consolePost posts body to path with the agent's token and returns the
// status and the answer's error code ("" when none).
func consolePost(t *testing.T, p *proc, token, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.HTTP+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(b, &e)
	return res.StatusCode, e.Error
}

// hold holds (or resumes) the token's agent's call and checks the 200.
func hold(t *testing.T, p *proc, token string, held bool) {
	t.Helper()
	body := `{"held":false}`
	if held {
		body = `{"held":true}`
	}
	if status, code := consolePost(t, p, token, "/v1/agents/me/call/hold", body); status != http.StatusOK {
		t.Fatalf("hold %v: %d %s", held, status, code)
	}
}

// transfer asks for a transfer and checks the answer.
func transfer(t *testing.T, p *proc, token, body string, want int, wantCode string) {
	t.Helper()
	if status, code := consolePost(t, p, token, "/v1/agents/me/call/transfer", body); status != want || code != wantCode {
		t.Fatalf("transfer %s: %d %q, want %d %q", body, status, code, want, wantCode)
	}
}

// hearsHold reports whether the browser hears either note of the hold tone.
func hearsHold(b *calltest.Browser) bool { return b.HearsTone(holdLow) || b.HearsTone(holdHigh) }

// noneOf checks, over the next n packets the browser receives, that the
// last 200 ms never carried freq (a share of its energy under 0.1).
func noneOf(t *testing.T, b *calltest.Browser, freq float64, n uint64) {
	t.Helper()
	until, worst := b.PacketsReceived()+n, 0.0
	calltest.Eventually(t, "packets received while held", func() bool {
		worst = math.Max(worst, b.Heard(freq))
		return b.PacketsReceived() >= until
	})
	if worst >= 0.1 {
		t.Errorf("%.0f Hz heard while held: share %.2f of the energy", freq, worst)
	}
	t.Logf("while held, over %d packets: at most %.3f of the energy at %.0f Hz", n, worst, freq)
}

// Hold from the console: the visitor hears the hold chime and no longer
// the agent (whose phone echoes the visitor's 1000 Hz), the agent gets
// silence; resumed, the echo again. The phone's own hold still works
// beside it.
func TestCall_ConsoleHoldPlaysTheHoldTone(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	ac := calltest.Next(t, alice.Answered(), "alice's answered call")
	waitCall(t, p, id, "talking", "")
	calltest.Eventually(t, "the 1 kHz echo through alice", func() bool { return b.HearsTone(1000) })

	hold(t, p, aliceToken, true)
	if v := getCall(t, p, id); !v.Held || v.State != "talking" {
		t.Errorf("after hold: %+v, want talking and held", v)
	}
	calltest.Eventually(t, "the hold tone at the visitor", func() bool { return hearsHold(b) })
	noneOf(t, b, 1000, 150) // 3 s of packets: a whole period of the chime
	calltest.Eventually(t, "silence at alice while held", func() bool { return ac.Level() < -60 })
	t.Logf("held: alice hears %.1f dBFS", ac.Level())

	// The phone holds and resumes by itself meanwhile: answered as ever.
	if dir, err := ac.Hold(calltest.Context(t)); err != nil || dir != "recvonly" {
		t.Fatalf("the phone's hold answered %q, %v", dir, err)
	}
	if dir, err := ac.Resume(calltest.Context(t)); err != nil || dir != "sendrecv" {
		t.Fatalf("the phone's resume answered %q, %v", dir, err)
	}

	hold(t, p, aliceToken, false)
	if v := getCall(t, p, id); v.Held {
		t.Errorf("after resume: %+v, want not held", v)
	}
	b.SetTone(600)
	calltest.Eventually(t, "the 600 Hz echo through alice once resumed", func() bool { return b.HearsTone(600) })
	calltest.Eventually(t, "alice hears the visitor again", func() bool { return ac.Level() > -30 })
}

// A blind transfer to bob: alice gets a BYE and wraps up, bob's phone
// rings with the same call's headers, and once he answers the visitor
// hears through him; the call keeps its id and its events name Bob.
func TestCall_ConsoleBlindTransferToAnAgent(t *testing.T) {
	p := startCallServer(t, "acd.wrap_up=1h")
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	bob := agent(t, p, "bob", calltest.Behaviour{Action: calltest.Answer, Delay: 300 * time.Millisecond}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing") // alice's group: bob has no billing skill
	ac := calltest.Next(t, alice.Answered(), "alice's answered call")
	events := followEvents(t, "http://"+p.HTTP+"/v1/calls/"+id+"/events")
	waitCall(t, p, id, "talking", "")
	calltest.Eventually(t, "the 1 kHz echo through alice", func() bool { return b.HearsTone(1000) })

	transfer(t, p, aliceToken, `{"agent":"sip:bob@example.com"}`, http.StatusAccepted, "")
	calltest.NextEvent(t, alice, calltest.EventBye)
	calltest.Closed(t, ac.Ended(), "alice's call ended")
	inv := calltest.Next(t, bob.Invites(), "bob's INVITE")
	if got := inv.GetHeader("Switchboard-Call"); got == nil || got.Value() != id {
		t.Errorf("bob's INVITE Switchboard-Call %v, want %s", got, id)
	}
	if got := inv.GetHeader("Switchboard-Context"); got == nil || !strings.Contains(got.Value(), "group=billing") {
		t.Errorf("bob's INVITE Switchboard-Context %v, want group=billing", got)
	}
	nextEvent(t, events, "the call ringing bob", func(e sse) bool {
		return strings.Contains(e.data, `"state":"ringing"`) && strings.Contains(e.data, `"agent":"Bob"`)
	})
	calltest.Eventually(t, "the hold tone while bob rings", func() bool { return hearsHold(b) })
	bc := calltest.Next(t, bob.Answered(), "bob's answered call")
	nextEvent(t, events, "the call talking with bob", func(e sse) bool {
		return strings.Contains(e.data, `"state":"talking"`) && strings.Contains(e.data, `"agent":"Bob"`) &&
			strings.Contains(e.data, `"call_id":"`+id+`"`)
	})
	b.SetTone(700)
	calltest.Eventually(t, "the visitor's 700 Hz echoed by bob", func() bool { return b.HearsTone(700) })
	from := bc.RTPReceived()
	calltest.Eventually(t, "the visitor's audio at bob", func() bool { return bc.RTPReceived() >= from+50 && bc.Level() > -30 })
	t.Logf("bob hears the visitor at %.1f dBFS; the visitor hears 700 Hz at share %.2f", bc.Level(), b.Heard(700))
	if v := getCall(t, p, id); v.ID != id || v.Agent != "Bob" || v.State != "talking" {
		t.Errorf("after the transfer: %+v", v)
	}
	if state := agentState(t, p, aliceToken); state != "wrap-up" {
		t.Errorf("alice %s after the transfer, want wrap-up", state)
	}
	if err := bc.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	waitCall(t, p, id, "ended", "agent-hangup")
}

// agentState is GET /v1/agents/me's state for token.
func agentState(t *testing.T, p *proc, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.HTTP+"/v1/agents/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		State string `json:"state"`
	}
	json.NewDecoder(res.Body).Decode(&v)
	return v.State
}

// A transfer to a group queues the call there (support, where bob is the
// best skilled), where the ACD routes it to bob; the refusals answer with
// their codes, and the call goes on.
func TestCall_ConsoleTransferToAGroupAndRefusals(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})

	transfer(t, p, aliceToken, `{"group":"support"}`, http.StatusConflict, "not_talking")
	if status, code := consolePost(t, p, aliceToken, "/v1/agents/me/call/hold", `{"held":true}`); status != 409 || code != "not_talking" {
		t.Errorf("hold without a call: %d %s", status, code)
	}
	id := call(t, p, b, "billing")
	calltest.Next(t, alice.Answered(), "alice's answered call")
	waitCall(t, p, id, "talking", "")
	transfer(t, p, aliceToken, `{"agent":"sip:bob@example.com"}`, http.StatusConflict, "agent_offline")
	transfer(t, p, aliceToken, `{"agent":"sip:nobody@example.com"}`, http.StatusNotFound, "unknown_agent")
	transfer(t, p, aliceToken, `{"group":"sales"}`, http.StatusNotFound, "unknown_group")
	transfer(t, p, aliceToken, `{}`, http.StatusBadRequest, "no_target")
	if v := getCall(t, p, id); v.State != "talking" || v.Agent != "Alice" {
		t.Fatalf("after the refusals: %+v, want still talking with Alice", v)
	}

	bob := agent(t, p, "bob", calltest.Behaviour{Action: calltest.Answer}, false)
	bobToken := "bob-demo-token-change-me"
	req, _ := http.NewRequest(http.MethodPut, "http://"+p.HTTP+"/v1/agents/me/state", strings.NewReader(`{"state":"away"}`))
	req.Header.Set("Authorization", "Bearer "+bobToken)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	transfer(t, p, aliceToken, `{"agent":"sip:bob@example.com"}`, http.StatusConflict, "agent_away")
	req, _ = http.NewRequest(http.MethodPut, "http://"+p.HTTP+"/v1/agents/me/state", strings.NewReader(`{"state":"available"}`))
	req.Header.Set("Authorization", "Bearer "+bobToken)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}

	transfer(t, p, aliceToken, `{"group":"support"}`, http.StatusAccepted, "")
	calltest.NextEvent(t, alice, calltest.EventBye)
	bc := calltest.Next(t, bob.Answered(), "bob's answered call")
	if bc.ID() != id {
		t.Errorf("bob got call %s, want %s", bc.ID(), id)
	}
	v := waitCall(t, p, id, "talking", "")
	if v.Agent != "Bob" {
		t.Errorf("talking with %q, want Bob", v.Agent)
	}
	var full struct {
		Group string `json:"group"`
	}
	res, err := http.Get("http://" + p.HTTP + "/v1/calls/" + id)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&full)
	res.Body.Close()
	if full.Group != "support" {
		t.Errorf("group %q after the transfer, want support", full.Group)
	}
	b.SetTone(700)
	calltest.Eventually(t, "the visitor's 700 Hz echoed by bob", func() bool { return b.HearsTone(700) })
}
