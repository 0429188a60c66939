package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/switchboard/switchboard/internal/calltest"
)

// ICE restarts over HTTP (POST /v1/calls/{id}/ice-restart) on the binary,
// with a pion browser talking to a SIP agent and media.ice.max_restarts
// at 1: the restart is answered and the agent keeps hearing the tone;
// the next one is refused 429 restart_limit and counted; an offer that
// restarts nothing is 400 bad_offer, an unknown call 404, an ended one 409.
func TestCall_ICERestartOverHTTPAndItsLimit(t *testing.T) {
	p := startCallServer(t, "media.ice.max_restarts=1")
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	ac := calltest.Next(t, alice.Answered(), "the agent's answered call")
	waitCall(t, p, id, "talking", "")
	hears := func(what string) {
		t.Helper()
		from := ac.RTPReceived()
		calltest.Eventually(t, what, func() bool { return ac.RTPReceived() > from+25 && ac.Level() > -30 })
	}
	hears("the tone at the agent")

	post := func(id, sdp string) (int, string, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"sdp": sdp})
		res, err := http.Post("http://"+p.HTTP+"/v1/calls/"+id+"/ice-restart", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var v struct{ SDP, Error string }
		json.Unmarshal(raw, &v)
		return res.StatusCode, v.SDP, v.Error
	}
	restart := func() (int, string) {
		t.Helper()
		var code int
		var errCode string
		err := b.RestartICE(calltest.Context(t), func(_ context.Context, offer string) (string, error) {
			var answer string
			code, answer, errCode = post(id, offer)
			if code != http.StatusOK {
				return "", fmt.Errorf("%d %s", code, errCode)
			}
			return answer, nil
		})
		if code == http.StatusOK && err != nil {
			t.Fatalf("applying the restart's answer: %v", err)
		}
		return code, errCode
	}

	if code, _, e := post(id, b.PeerConnection().LocalDescription().SDP); code != http.StatusBadRequest || e != "bad_offer" {
		t.Errorf("the same credentials: %d %s, want 400 bad_offer", code, e)
	}
	if code, _, e := post(id, ""); code != http.StatusBadRequest || e != "no_sdp" {
		t.Errorf("no sdp: %d %s, want 400 no_sdp", code, e)
	}
	if code, e := restart(); code != http.StatusOK {
		t.Fatalf("the restart: %d %s", code, e)
	}
	hears("the tone at the agent after the restart")
	if code, e := restart(); code != http.StatusTooManyRequests || e != "restart_limit" {
		t.Errorf("past media.ice.max_restarts: %d %s, want 429 restart_limit", code, e)
	}
	m := scrapeMetrics(t, p)
	if n := m["switchboard_ice_restarts_total"]; n != 1 {
		t.Errorf("switchboard_ice_restarts_total %v, want 1", n)
	}
	if n := m[`switchboard_refused_total{limit="media.ice.max_restarts"}`]; n != 1 {
		t.Errorf(`switchboard_refused_total{limit="media.ice.max_restarts"} %v, want 1`, n)
	}
	if v := getCall(t, p, id); v.State != "talking" {
		t.Errorf("the call is %s after the refused restart, want talking", v.State)
	}
	if code, _, e := post("nope", "v=0"); code != http.StatusNotFound || e != "unknown_call" {
		t.Errorf("unknown call: %d %s, want 404 unknown_call", code, e)
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+p.HTTP+"/v1/calls/"+id, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
	waitCall(t, p, id, "ended", "visitor-hangup")
	if code, _, e := post(id, "v=0"); code != http.StatusConflict || e != "call_ended" {
		t.Errorf("ended call: %d %s, want 409 call_ended", code, e)
	}
}
