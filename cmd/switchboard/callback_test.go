package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// trunk is a SIP UAS standing for the telephone network: it answers the
// callbacks' INVITEs per b.
func trunk(t *testing.T, b calltest.Behaviour) (*calltest.Agent, string) {
	tr := calltest.NewTestAgent(t, calltest.AgentOptions{User: "trunk", NoRegister: true, Behaviour: b})
	_, port, _ := net.SplitHostPort(tr.Addr())
	return tr, port
}

// callbackView is the JSON of the callback API.
type callbackView struct {
	ID       string `json:"callback_id"`
	State    string `json:"state"`
	Phone    string `json:"phone"`
	Position int    `json:"position"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// requestCallback posts a callback request and returns the status and body.
func requestCallback(t *testing.T, p *proc, body string) (int, callbackView) {
	t.Helper()
	res, err := http.Post("http://"+p.HTTP+"/v1/callbacks", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v callbackView
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("POST /v1/callbacks %d: not JSON: %s", res.StatusCode, b)
	}
	return res.StatusCode, v
}

// waitCallback waits until callback id reaches state.
func waitCallback(t *testing.T, p *proc, id, state string) callbackView {
	t.Helper()
	var v callbackView
	calltest.Eventually(t, "callback "+state, func() bool {
		res, err := http.Get("http://" + p.HTTP + "/v1/callbacks/" + id)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		json.NewDecoder(res.Body).Decode(&v)
		return v.State == state
	})
	return v
}

func TestCallback_AgentFirstThenTrunkAndRTPBothWays(t *testing.T) {
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	p := startCallServer(t, "trunk.port="+port, "trunk.caller_id=+33100000000")
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	code, cb := requestCallback(t, p, `{"group":"billing","phone":"06 12 34 56 78","name":"Ada"}`)
	if code != http.StatusAccepted || cb.Phone != "+33612345678" {
		t.Fatalf("POST: %d %+v", code, cb)
	}

	ac := calltest.Next(t, alice.Answered(), "the agent called first")
	if got := ac.FromName(); got != "Callback +33612345678" {
		t.Errorf("agent's From display name %q", got)
	}
	if ac.Header("Switchboard-Phone") != "+33612345678" || ac.Header("Switchboard-Callback") != cb.ID {
		t.Errorf("agent's INVITE headers: phone %q callback %q", ac.Header("Switchboard-Phone"), ac.Header("Switchboard-Callback"))
	}
	tc := calltest.Next(t, tr.Answered(), "the trunk called once the agent answered")
	inv := tc.Invite()
	if u := inv.Recipient; u.User != "+33612345678" || u.Host != "127.0.0.1" {
		t.Errorf("trunk Request-URI %s", u.String())
	}
	if from := inv.From().Address.User; from != "+33100000000" {
		t.Errorf("trunk From user %q, want the caller id", from)
	}
	if inv.GetHeader("Switchboard-Context") != nil || inv.GetHeader("Switchboard-Phone") != nil {
		t.Errorf("the visitor context left for the PSTN:\n%s", inv)
	}
	waitCallback(t, p, cb.ID, "talking")

	// The visitor's phone speaks (from the trunk side: Switchboard latches
	// to where the trunk's RTP comes from); the agent echoes it back.
	visitor, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer visitor.Close()
	tc.SetEcho(false)
	relay := tc.Offer().Addr
	got := make(chan uint16, 64)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := visitor.Read(buf)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(buf[:n]) == nil && bytes.HasPrefix(pkt.Payload, []byte("visitor")) {
				got <- pkt.SequenceNumber
			}
		}
	}()
	var echoed int
	for seq := uint16(1); seq <= 200 && echoed == 0; seq++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(tc.Offer().PT), SequenceNumber: seq,
			Timestamp: uint32(seq) * 160, SSRC: 0x5EED}, Payload: append([]byte("visitor"), make([]byte, 153)...)}
		b, _ := pkt.Marshal()
		visitor.WriteToUDP(b, relay)
		select {
		case <-got:
			echoed++
		case <-time.After(20 * time.Millisecond):
		}
	}
	if echoed == 0 || ac.RTPReceived() == 0 {
		t.Fatalf("RTP across the bridge: agent received %d, echoes back at the visitor %d", ac.RTPReceived(), echoed)
	}

	if err := ac.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	calltest.NextEvent(t, tr, calltest.EventBye)
	waitCallback(t, p, cb.ID, "done")
}

func TestCallback_TrunkBusyRetriedAfterSpacingThenFailed(t *testing.T) {
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Reject, Status: 486})
	const spacing = 1500 * time.Millisecond
	p := startCallServer(t, "trunk.port="+port, "callbacks.attempts=2", "callbacks.retry_spacing="+spacing.String())
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	code, cb := requestCallback(t, p, `{"group":"billing","phone":"+33 6 12 34 56 78"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %+v", code, cb)
	}
	calltest.NextEvent(t, tr, calltest.EventInvite)
	bye := calltest.NextEvent(t, alice, calltest.EventBye)
	byeAt := time.Now()
	if r := bye.Request.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "cause=486") {
		t.Errorf("the agent's BYE does not say why: %v", r)
	}
	calltest.NextEvent(t, tr, calltest.EventInvite)
	if gap := time.Since(byeAt); gap < spacing-100*time.Millisecond {
		t.Errorf("retried %v after the busy visitor, before the %v spacing", gap, spacing)
	}
	if v := waitCallback(t, p, cb.ID, "failed"); v.Attempts != 2 {
		t.Errorf("%d attempts recorded, want 2 (visitor busy twice)", v.Attempts)
	}
}

func TestCallback_QueuedBeforeSIGKILLIsPlacedAfterRestart(t *testing.T) {
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	dir := t.TempDir()
	sets := append(append([]string(nil), callSets...), "trunk.port="+port, "acd.wrap_up=1h")
	p := startSwitchboard(t, dir, sets...)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	// Alice is busy with a web call, so the callback waits.
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	call(t, p, b, "billing")
	calltest.Next(t, alice.Answered(), "the web call")
	code, cb := requestCallback(t, p, `{"group":"billing","phone":"06 12 34 56 78"}`)
	if code != http.StatusAccepted || cb.State != "queued" || cb.Position != 1 {
		t.Fatalf("POST: %d %+v", code, cb)
	}
	p.kill()

	p2 := startSwitchboard(t, dir, sets...) // on new ports; alice's binding is in the store
	ac := calltest.Next(t, alice.Answered(), "the callback after the restart")
	if ac.Header("Switchboard-Callback") != cb.ID {
		t.Errorf("the agent got %q, want callback %s", ac.Header("Switchboard-Callback"), cb.ID)
	}
	tc := calltest.Next(t, tr.Answered(), "the trunk call after the restart")
	if tc.Invite().Recipient.User != "+33612345678" {
		t.Errorf("trunk Request-URI %s", tc.Invite().Recipient.String())
	}
	waitCallback(t, p2, cb.ID, "talking")
}

func TestCallback_InvalidNumbersGet400AndNothingQueued(t *testing.T) {
	_, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	p := startCallServer(t, "trunk.port="+port, "callbacks.phone.allowed_regions=FR,BE", "callbacks.per_ip=100")
	agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
	for body, want := range map[string]string{
		`{"group":"billing","phone":"hello"}`:           "bad_phone",
		`{"group":"billing","phone":"06 12"}`:           "bad_phone",
		`{"group":"billing","phone":"08 99 23 45 67"}`:  "blocked_phone_type",
		`{"group":"billing","phone":"+1 650 253 0000"}`: "country_not_allowed",
		`{"group":"billing"}`:                           "bad_phone",
		`{"group":"billing","phone":`:                   "bad_json",
		`{"phone":"06 12 34 56 78"}`:                    "no_group",
	} {
		code, v := requestCallback(t, p, body)
		if code != http.StatusBadRequest || v.Error != want {
			t.Errorf("%s: %d %q, want 400 %s", body, code, v.Error, want)
		}
	}
	res, err := http.NewRequest("GET", "http://"+p.HTTP+"/v1/console", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Header.Set("Authorization", "Bearer alice-demo-token-change-me")
	r, err := http.DefaultClient.Do(res)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var console struct {
		Callbacks []callbackView `json:"callbacks"`
	}
	json.NewDecoder(r.Body).Decode(&console)
	if r.StatusCode != 200 || len(console.Callbacks) != 0 {
		t.Errorf("console: %d, callbacks %+v; want none queued", r.StatusCode, console.Callbacks)
	}
}

func TestCallback_RateLimitedPerAddress(t *testing.T) {
	_, port := trunk(t, calltest.Behaviour{Action: calltest.Ring})
	p := startCallServer(t, "trunk.port="+port, "callbacks.per_ip=2")
	agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
	for i := range 3 {
		code, v := requestCallback(t, p, fmt.Sprintf(`{"group":"billing","phone":"06 12 34 56 7%d"}`, i))
		want := http.StatusAccepted
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Errorf("request %d: %d %+v, want %d", i+1, code, v, want)
		}
	}
}

func TestCallback_AgentHearsRingbackAndHangingUpCancelsTheTrunk(t *testing.T) {
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Ring})
	p := startCallServer(t, "trunk.port="+port)
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	if code, cb := requestCallback(t, p, `{"group":"billing","phone":"06 12 34 56 78"}`); code != http.StatusAccepted {
		t.Fatalf("POST: %d %+v", code, cb)
	}
	ac := calltest.Next(t, alice.Answered(), "the agent called first")
	calltest.NextEvent(t, tr, calltest.EventInvite)
	calltest.Eventually(t, "ringback RTP at the agent while the visitor's phone rings", func() bool {
		return ac.RTPReceived() >= 25
	})
	if err := ac.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	calltest.NextEvent(t, tr, calltest.EventCancel)
}

func TestCallback_ConsoleListsTakesAndMarksDone(t *testing.T) {
	_, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	p := startCallServer(t, "trunk.port="+port, "acd.wrap_up=1h")
	cb := callbackWhileBusy(t, p)

	console := func(method, path, token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+p.HTTP+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}
	const aliceToken, bobToken = "alice-demo-token-change-me", "bob-demo-token-change-me"
	code, body := console("GET", "/v1/console", bobToken)
	var view struct {
		Agent     struct{ Name string } `json:"agent"`
		Callbacks []struct {
			ID      string            `json:"callback_id"`
			Phone   string            `json:"phone"`
			Name    string            `json:"name"`
			Context map[string]string `json:"context"`
		} `json:"callbacks"`
		Calls []struct{ State string } `json:"calls"`
	}
	if err := json.Unmarshal(body, &view); err != nil || code != 200 {
		t.Fatalf("console: %d %s", code, body)
	}
	if view.Agent.Name != "Bob" || len(view.Callbacks) != 1 || view.Callbacks[0].Phone != "+33612345678" ||
		view.Callbacks[0].Name != "Ada" || view.Callbacks[0].Context["group"] != "billing" ||
		len(view.Calls) != 1 || view.Calls[0].State != "talking" {
		t.Errorf("console shows %s", body)
	}
	if code, _ := console("GET", "/v1/console", "wrong-token-wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}
	if code, body := console("POST", "/v1/callbacks/"+cb.ID+"/take", bobToken); code != http.StatusOK {
		t.Fatalf("take: %d %s", code, body)
	}
	if code, _ := console("POST", "/v1/callbacks/"+cb.ID+"/take", aliceToken); code != http.StatusConflict {
		t.Errorf("taking a taken callback: %d, want 409", code)
	}
	if code, _ := console("POST", "/v1/callbacks/"+cb.ID+"/done", aliceToken); code != http.StatusConflict {
		t.Errorf("alice marking bob's callback done: %d, want 409", code)
	}
	if code, _ := console("POST", "/v1/callbacks/"+cb.ID+"/done", bobToken); code != http.StatusNoContent {
		t.Errorf("done: %d", code)
	}
	waitCallback(t, p, cb.ID, "done")
}

// callbackWhileBusy has alice talk with a web visitor (p runs with a long
// wrap-up) and then requests Ada's callback, which waits in the queue.
func callbackWhileBusy(t *testing.T, p *proc) callbackView {
	t.Helper()
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	calltest.Next(t, alice.Answered(), "the web call")
	waitCall(t, p, id, "talking", "")
	code, cb := requestCallback(t, p, `{"group":"billing","phone":"06 12 34 56 78","name":"Ada"}`)
	if code != http.StatusAccepted || cb.State != "queued" {
		t.Fatalf("POST: %d %+v", code, cb)
	}
	return cb
}
