package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/calltest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// callSets keep the browser leg's ICE on loopback and make the media
// timers short enough for tests.
var callSets = []string{"media.ice.host_ips=127.0.0.1", "media.connect_timeout=3s", "calls.ring_timeout=5s",
	"acd.wrap_up=1s"}

// startCallServer runs switchboard with every role, for calls.
func startCallServer(t *testing.T, sets ...string) *proc {
	return startSwitchboard(t, t.TempDir(), append(append([]string(nil), callSets...), sets...)...)
}

// agent registers user (alice or bob) at p as a SIP phone.
func agent(t *testing.T, p *proc, user string, b calltest.Behaviour, echoChat bool) *calltest.Agent {
	return calltest.NewTestAgent(t, calltest.AgentOptions{Server: p.UDP, User: user,
		Password: user + "-secret", Behaviour: b, EchoChat: echoChat})
}

// callView is the JSON of GET /v1/calls/{id}.
type callView struct {
	ID              string `json:"call_id"`
	State           string `json:"state"`
	Agent           string `json:"agent"`
	Reason          string `json:"reason"`
	Position        int    `json:"position"`
	SDP             string `json:"sdp"`
	CallbackOffered bool   `json:"callback_offered"`
	Held            bool   `json:"held"`
}

// call connects browser b to group through p and returns the call id.
func call(t *testing.T, p *proc, b *calltest.Browser, group string) string {
	t.Helper()
	return callWith(t, p, b, group, func(offer string) string { return offer })
}

// callWith is call with the browser's offer changed by edit on its way, as
// another client would write it.
func callWith(t *testing.T, p *proc, b *calltest.Browser, group string, edit func(offer string) string) string {
	t.Helper()
	var id string
	err := b.Connect(calltest.Context(t), func(ctx context.Context, offer string) (string, error) {
		body, _ := json.Marshal(map[string]string{"group": group, "sdp": edit(offer)})
		res, err := http.Post("http://"+p.HTTP+"/v1/calls", "application/json", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return "", fmt.Errorf("POST /v1/calls: %d %s", res.StatusCode, b)
		}
		var v callView
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		id = v.ID
		return v.SDP, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// getCall reads GET /v1/calls/{id}.
func getCall(t *testing.T, p *proc, id string) callView {
	t.Helper()
	res, err := http.Get("http://" + p.HTTP + "/v1/calls/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v callView
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitCall waits until the call reaches state (and reason, if not "").
func waitCall(t *testing.T, p *proc, id, state, reason string) callView {
	t.Helper()
	var v callView
	calltest.Eventually(t, "call "+state+" "+reason, func() bool {
		v = getCall(t, p, id)
		return v.State == state && (reason == "" || v.Reason == reason)
	})
	return v
}

func TestCall_ToneDTMFChatHoldAndAgentHangup(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, true)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")

	ac := calltest.Next(t, alice.Answered(), "the agent's answered call")
	if got := ac.FromName(); got != "Web visitor" {
		t.Errorf("From display name %q, want Web visitor", got)
	}
	if got := ac.Header("Switchboard-Call"); got != id {
		t.Errorf("Switchboard-Call %q, want %s", got, id)
	}
	if q, err := ac.Context(); err != nil || q.Get("group") != "billing" {
		t.Errorf("Switchboard-Context %v %v, want group=billing", q, err)
	}
	if v := waitCall(t, p, id, "talking", ""); v.Agent != "Alice" {
		t.Errorf("agent %q, want Alice", v.Agent)
	}
	calltest.Eventually(t, "the 1 kHz tone echoed back to the browser", func() bool { return b.HearsTone(1000) })

	if err := b.SendDTMF("1#"); err != nil {
		t.Fatal(err)
	}
	for _, want := range "1#" {
		if got := calltest.Next(t, alice.DTMF(), "a DTMF digit at the agent"); got != want {
			t.Errorf("digit %q, want %q", got, want)
		}
	}

	if err := b.Chat(calltest.Context(t), "hello agent"); err != nil {
		t.Fatal(err)
	}
	if got := calltest.Next(t, alice.Messages(), "the chat MESSAGE at the agent"); got != "hello agent" {
		t.Errorf("agent got %q", got)
	}
	if got := calltest.Next(t, b.ChatReceived(), "the agent's MESSAGE on the chat channel"); got != "echo: hello agent" {
		t.Errorf("browser got %q", got)
	}

	// Hold and resume: the answers mirror the direction, and the tone
	// comes back afterwards over the same browser leg.
	if dir, err := ac.Hold(calltest.Context(t)); err != nil || dir != "recvonly" {
		t.Fatalf("hold answered %q, %v; want recvonly", dir, err)
	}
	if dir, err := ac.Resume(calltest.Context(t)); err != nil || dir != "sendrecv" {
		t.Fatalf("resume answered %q, %v; want sendrecv", dir, err)
	}
	b.SetTone(600)
	calltest.Eventually(t, "the 600 Hz tone after resume", func() bool { return b.HearsTone(600) })

	if err := ac.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	waitCall(t, p, id, "ended", "agent-hangup")
	calltest.Closed(t, b.Done(), "the browser leg closed")

	res, err := http.Get("http://" + p.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`switchboard_calls_ended_total{reason="agent-hangup"} 1`, `switchboard_calls_active 0`,
		`switchboard_sip_agent_dials_total{result="answered"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(metrics), `switchboard_rtp_packets_relayed_total{direction="to_browser"} 0`) {
		t.Errorf("/metrics counts no packet relayed to the browser")
	}
}

// A pion browser offering exactly what Chrome 120+ offers (telephone-event
// as 126, after 110 at 48 kHz) sends digits mid-call, with the payload
// type of the answer as Chrome does: the agent gets them, and the
// visitor's audio keeps reaching the agent before and after.
func TestCall_ChromeOfferDTMFKeepsAudioFlowing(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{Codecs: calltest.ChromeCodecs()})
	id := call(t, p, b, "billing")
	answer := b.PeerConnection().RemoteDescription().SDP
	if !strings.Contains(answer, "a=rtpmap:126 telephone-event/8000") || strings.Contains(answer, "telephone-event/48000") {
		t.Errorf("the answer does not keep the offer's telephone-event/8000 as 126:\n%s", answer)
	}
	waitCall(t, p, id, "talking", "")

	flowing := func(what string) {
		t.Helper()
		from := alice.RTPReceived()
		calltest.Eventually(t, what, func() bool { return alice.RTPReceived() >= from+50 })
	}
	flowing("the visitor's audio at the agent before the digits")
	if err := b.SendDTMF("5*"); err != nil {
		t.Fatal(err)
	}
	for _, want := range "5*" {
		if got := calltest.Next(t, alice.DTMF(), "a DTMF digit at the agent"); got != want {
			t.Errorf("digit %q, want %q", got, want)
		}
	}
	flowing("the visitor's audio at the agent after the digits")
	calltest.Eventually(t, "the 1 kHz tone echoed back after the digits", func() bool { return b.HearsTone(1000) })
}

// A client with pion's default codecs (no telephone-event) and an offer
// without its final CRLF gets a call without DTMF: the answer and the
// agent's INVITE carry no telephone-event, and audio flows both ways.
func TestCall_OfferWithoutTelephoneEventTalksWithoutDTMF(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{Codecs: calltest.PionDefaultCodecs()})
	id := callWith(t, p, b, "billing", func(offer string) string { return strings.TrimRight(offer, "\r\n") })
	if answer := b.PeerConnection().RemoteDescription().SDP; strings.Contains(answer, "telephone-event") {
		t.Errorf("the answer offers telephone-event to a browser that did not:\n%s", answer)
	}
	ac := calltest.Next(t, alice.Answered(), "the agent's answered call")
	if body := string(ac.Invite().Body()); strings.Contains(body, "telephone-event") {
		t.Errorf("the agent was offered telephone-event that the visitor cannot take:\n%s", body)
	}
	waitCall(t, p, id, "talking", "")
	calltest.Eventually(t, "the 1 kHz tone echoed back", func() bool { return b.HearsTone(1000) })
	if err := b.SendDTMF("1"); err == nil {
		t.Errorf("SendDTMF worked without telephone-event negotiated")
	}
}

// Chat with receipts (the widget's JSON sub-protocol): a message the
// agent's phone takes is "delivered", one it refuses "failed". The agent
// also reaches the visitor outside the dialog, at the call's own visitor
// URI, as softphones send chat; nobody else may.
func TestCall_ChatReceiptsAndOutOfDialogMessages(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	bob := calltest.NewTestAgent(t, calltest.AgentOptions{Server: p.UDP, User: "bob", Password: "bob-secret",
		Behaviour: calltest.Behaviour{Action: calltest.Answer}, RefuseChat: 488})

	b1 := calltest.NewTestBrowser(t, calltest.BrowserOptions{ChatReceipts: true})
	id1 := call(t, p, b1, "billing")
	waitCall(t, p, id1, "talking", "")
	if err := b1.Chat(calltest.Context(t), "hello alice"); err != nil {
		t.Fatal(err)
	}
	if got := calltest.Next(t, alice.Messages(), "the chat at alice"); got != "hello alice" {
		t.Errorf("alice got %q", got)
	}
	if r := calltest.Next(t, b1.Receipts(), "a receipt"); r != (calltest.Receipt{Text: "hello alice", Delivered: true}) {
		t.Errorf("receipt %+v, want delivered", r)
	}

	// Outside the dialog, to sip:visitor-<call>@example.com.
	visitor := "sip:visitor-" + id1 + "@example.com"
	if got := calltest.Next(t, alice.Invites(), "alice's INVITE").From().Address.String(); got != visitor {
		t.Errorf("INVITE From %s, want %s", got, visitor)
	}
	phone := siptest.NewPeer(t)
	message := func(uri, user string) *sipmsg.Response {
		req := phone.Request("MESSAGE", uri, user, p.UDP, "from alice's softphone", "Content-Type: text/plain")
		return phone.DoAuth(req, user, user+"-secret")
	}
	if res := message(visitor, "alice"); res.StatusCode != 200 {
		t.Fatalf("alice's MESSAGE outside the dialog: %d %s", res.StatusCode, res.Reason)
	}
	if got := calltest.Next(t, b1.ChatReceived(), "the agent's chat in the browser"); got != "from alice's softphone" {
		t.Errorf("browser got %q", got)
	}
	if res := message(visitor, "bob"); res.StatusCode != 403 {
		t.Errorf("bob's MESSAGE to alice's visitor: %d %s, want 403", res.StatusCode, res.Reason)
	}
	if res := message("sip:visitor-nobody@example.com", "alice"); res.StatusCode != 404 {
		t.Errorf("MESSAGE to no visitor: %d %s, want 404", res.StatusCode, res.Reason)
	}

	// bob's phone refuses text: the visitor is told.
	b2 := calltest.NewTestBrowser(t, calltest.BrowserOptions{ChatReceipts: true})
	id2 := call(t, p, b2, "support")
	waitCall(t, p, id2, "talking", "")
	calltest.Next(t, bob.Answered(), "bob's answered call")
	if err := b2.Chat(calltest.Context(t), "hello bob"); err != nil {
		t.Fatal(err)
	}
	if r := calltest.Next(t, b2.Receipts(), "a receipt"); r != (calltest.Receipt{Text: "hello bob", Delivered: false}) {
		t.Errorf("receipt %+v, want failed", r)
	}
}

func TestCall_VisitorHangupSendsBye(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	ac := calltest.Next(t, alice.Answered(), "the agent's answered call")
	waitCall(t, p, id, "talking", "")

	req, _ := http.NewRequest(http.MethodDelete, "http://"+p.HTTP+"/v1/calls/"+id, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
	calltest.NextEvent(t, alice, calltest.EventBye)
	calltest.Closed(t, ac.Ended(), "the agent's call ended")
	waitCall(t, p, id, "ended", "visitor-hangup")
}

func TestCall_BusyAgentSkippedNextAgentAnswers(t *testing.T) {
	p := startCallServer(t)
	// Both serve support; bob (support 5) is the best skilled, so he is
	// offered first.
	bob := agent(t, p, "bob", calltest.Behaviour{Action: calltest.Reject, Status: 486}, false)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "support")

	calltest.NextEvent(t, bob, calltest.EventInvite)
	calltest.Next(t, alice.Answered(), "alice's answered call")
	if v := waitCall(t, p, id, "talking", ""); v.Agent != "Alice" {
		t.Errorf("talking with %q, want Alice", v.Agent)
	}
	calltest.Eventually(t, "the tone through alice", func() bool { return b.HearsTone(1000) })
}

func TestCall_VisitorHangupWhileRingingCancels(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	calltest.NextEvent(t, alice, calltest.EventInvite)
	waitCall(t, p, id, "ringing", "")

	req, _ := http.NewRequest(http.MethodDelete, "http://"+p.HTTP+"/v1/calls/"+id, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	calltest.NextEvent(t, alice, calltest.EventCancel)
	waitCall(t, p, id, "ended", "visitor-hangup")
}

func TestCall_NoDataConnection(t *testing.T) {
	p := startCallServer(t)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	offer, err := b.Offer(calltest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	b.Close() // ICE never completes: nobody answers the checks
	body, _ := json.Marshal(map[string]string{"group": "billing", "sdp": offer})
	res, err := http.Post("http://"+p.HTTP+"/v1/calls", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var v callView
	json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d", res.StatusCode)
	}
	waitCall(t, p, v.ID, "ended", "no-data-connection")
	select {
	case e := <-alice.Events():
		t.Errorf("the agent was called (%s) for a call without a data connection", e.Kind)
	default:
	}
}

func TestCall_BadOffersGet400(t *testing.T) {
	p := startCallServer(t)
	agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	noG711 := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	noAudio := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n"
	for name, tc := range map[string]struct {
		body string
		code int
		want string
	}{
		"not JSON":      {`{"group":`, 400, "bad_json"},
		"no sdp":        {`{"group":"billing"}`, 400, "no_sdp"},
		"malformed":     {`{"group":"billing","sdp":"hello"}`, 400, "bad_offer"},
		"no G.711":      {mustJSONString(map[string]string{"group": "billing", "sdp": noG711}), 400, "no usable codec"},
		"no audio":      {mustJSONString(map[string]string{"group": "billing", "sdp": noAudio}), 400, "no audio"},
		"unknown group": {mustJSONString(map[string]string{"group": "sales", "sdp": noAudio}), 404, "unknown_group"},
	} {
		res, err := http.Post("http://"+p.HTTP+"/v1/calls", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.code || !strings.Contains(string(b), tc.want) || !json.Valid(b) {
			t.Errorf("%s: %d %s; want %d with %q", name, res.StatusCode, b, tc.code, tc.want)
		}
	}
}

func TestCall_NobodyServing503(t *testing.T) {
	p := startCallServer(t)
	res, err := http.Post("http://"+p.HTTP+"/v1/calls", "application/json",
		strings.NewReader(`{"group":"billing","sdp":"v=0"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// Nobody signed in: no queue to join, so no wait is shown, and the
	// visitor may try again in a minute.
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "60" ||
		!strings.Contains(string(b), `"no_agents"`) || strings.Contains(string(b), `"ewt_seconds"`) {
		t.Errorf("%d Retry-After=%q %s; want 503 no_agents, Retry-After 60, no ewt_seconds", res.StatusCode, res.Header.Get("Retry-After"), b)
	}
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCall_SilentBrowserEndsWithMediaTimeout(t *testing.T) {
	p := startCallServer(t, "media.timeout=2s")
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{NoRTCPReports: true})
	id := call(t, p, b, "billing")
	calltest.Next(t, alice.Answered(), "the agent's answered call")
	waitCall(t, p, id, "talking", "")
	b.Mute(true) // no RTP and no RTCP from the browser any more
	waitCall(t, p, id, "ended", "media-timeout")
	calltest.NextEvent(t, alice, calltest.EventBye)
}

// The calls API is served where the ACD runs: with the web role on
// another host, the visitor's cookie (same key, a shared domain) carries
// the context set on the web host to the call placed on the ACD host.
// postContext POSTs body to p's /v1/context and returns the visitor
// cookie it sets.
func postContext(t *testing.T, p *proc, body string) *http.Cookie {
	t.Helper()
	res, err := http.Post("http://"+p.HTTP+"/v1/context", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "sb_ctx" {
			return c
		}
	}
	t.Fatalf("POST /v1/context on %s set no cookie: %d", p.HTTP, res.StatusCode)
	return nil
}

func TestCall_ACDOnItsOwnHostReadsTheWebHostsCookie(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pres := startSwitchboard(t, t.TempDir(), "roles=presence")
	acdHost := startSwitchboard(t, t.TempDir(), append([]string{"roles=acd", "acd.presence_server=sip:" + pres.TCP + ";transport=tcp",
		"web.cookie_key=" + key}, callSets...)...)
	web := startSwitchboard(t, t.TempDir(), "roles=web", "web.presence_server=sip:"+pres.UDP, "web.cookie_key="+key,
		"web.cookie_domain=example.com")
	alice := agent(t, acdHost, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	cookie := postContext(t, web, `{"group":"billing","language":"fr","page":"/pricing"}`)
	if cookie.Domain != "example.com" {
		t.Errorf("sb_ctx Domain %q, want example.com (web.cookie_domain)", cookie.Domain)
	}
	if res, err := http.Post("http://"+web.HTTP+"/v1/calls", "application/json", strings.NewReader(`{}`)); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("the web host without the ACD answers POST /v1/calls: %v %v", res.StatusCode, err)
	}

	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	err := b.Connect(calltest.Context(t), func(ctx context.Context, offer string) (string, error) {
		body, _ := json.Marshal(map[string]string{"sdp": offer}) // the group comes from the cookie
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+acdHost.HTTP+"/v1/calls", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		var v callView
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != http.StatusCreated {
			return "", fmt.Errorf("POST /v1/calls on the ACD host: %d %v", res.StatusCode, err)
		}
		return v.SDP, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ac := calltest.Next(t, alice.Answered(), "the agent's answered call")
	if q, err := ac.Context(); err != nil || q.Get("group") != "billing" || q.Get("language") != "fr" || q.Get("page") != "/pricing" {
		t.Errorf("Switchboard-Context %v %v; want the web host's context", q, err)
	}
	calltest.Eventually(t, "the tone echoed back", func() bool { return b.HearsTone(1000) })
}

// A caller who waits past the group's max_wait is offered a callback and
// keeps its place in the queue.
func TestCall_LongWaitIsOfferedACallback(t *testing.T) {
	p := busyWithMaxWait(t, "1s")
	second := call(t, p, calltest.NewTestBrowser(t, calltest.BrowserOptions{}), "billing")
	calltest.Eventually(t, "a callback offered to the second caller", func() bool {
		v := getCall(t, p, second)
		if v.State != "queued" {
			t.Fatalf("second caller: %+v, want queued", v)
		}
		return v.CallbackOffered
	})
}

// busyWithMaxWait runs switchboard with billing's max_wait set to maxWait
// and its only agent, alice, on a call with a first visitor: the next
// caller queues.
func busyWithMaxWait(t *testing.T, maxWait string) *proc {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "groups.yaml")
	os.WriteFile(conf, []byte("acd:\n  groups:\n    - {id: billing, name: Billing, skill: billing, min_proficiency: 2, max_wait: "+maxWait+"}\n"), 0o644)
	p := startCallServer(t, "--config="+conf)
	agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	first := call(t, p, calltest.NewTestBrowser(t, calltest.BrowserOptions{}), "billing")
	waitCall(t, p, first, "talking", "")
	return p
}
