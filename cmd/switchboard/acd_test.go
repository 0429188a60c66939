package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
)

// waitGroupNotify returns the first NOTIFY whose body has every one of want.
func waitGroupNotify(t *testing.T, w *siptest.Peer, want ...string) *sipmsg.Request {
	t.Helper()
	deadline := time.After(20 * time.Second)
	var last string
	for {
		select {
		case n := <-w.Notifies():
			last = string(n.Body())
			ok := true
			for _, s := range want {
				ok = ok && strings.Contains(last, s)
			}
			if ok {
				return n
			}
		case <-deadline:
			t.Fatalf("no NOTIFY with %q; last body:\n%s", want, last)
			return nil
		}
	}
}

// The roles on two hosts: the ACD publishes over SIP to a presence server
// in another process, and a watcher of the group sees agents come and go.
func TestACD_TwoProcessesGroupAvailabilityReachesWatchers(t *testing.T) {
	pres := startSwitchboard(t, t.TempDir(), "roles=presence")
	acdProc := startSwitchboard(t, t.TempDir(), "roles=acd",
		"acd.presence_server=sip:"+pres.TCP+";transport=tcp", "acd.publish_interval=1s", "acd.min_publish_gap=50ms")

	w := siptest.NewPeer(t)
	sub := w.Request("SUBSCRIBE", "sip:billing@example.com", "bob", pres.UDP, "", "Event: presence", "Expires: 600")
	if res := w.DoAuth(sub, "bob", "bob-secret"); res.StatusCode/100 != 2 {
		t.Fatalf("subscribe to the group: %d %s", res.StatusCode, res.Reason)
	}
	waitGroupNotify(t, w, "<basic>closed</basic>", "<sb:available-agents>0</sb:available-agents>")

	alice := siptest.NewPeer(t)
	reg := alice.Request("REGISTER", "sip:example.com", "alice", acdProc.UDP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	if res := alice.DoAuth(reg, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("agent REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	const aor = "sip:alice@example.com"
	pub := func(body string, hdrs ...string) string {
		t.Helper()
		hdrs = append([]string{"Event: presence", "Content-Type: application/pidf+xml", "Expires: 600"}, hdrs...)
		res := alice.DoAuth(alice.Request("PUBLISH", aor, "alice", acdProc.UDP, body, hdrs...), "alice", "alice-secret")
		if res.StatusCode != 200 {
			t.Fatalf("agent PUBLISH: %d %s", res.StatusCode, res.Reason)
		}
		return siptest.Header(res, "SIP-ETag")
	}
	etag := pub(siptest.PIDF(aor, "phone", "open", ""))
	waitGroupNotify(t, w, "<basic>open</basic>", "<sb:available-agents>1</sb:available-agents>", "<sb:ewt-seconds>0</sb:ewt-seconds>")

	// Away: nobody serves billing, which is closed and shows no wait.
	pub(siptest.PIDF(aor, "phone", "open", `<dm:person id="p"><rpid:activities><rpid:away/></rpid:activities></dm:person>`),
		"SIP-If-Match: "+etag)
	waitGroupNotify(t, w, "<basic>closed</basic>", "<sb:available-agents>0</sb:available-agents>",
		"<sb:away-agents>1</sb:away-agents>", "<sb:ewt-seconds>0</sb:ewt-seconds>")
}

func TestACD_AgentAPISetsAwayWithBearerToken(t *testing.T) {
	pres := startSwitchboard(t, t.TempDir(), "roles=presence")
	p := startSwitchboard(t, t.TempDir(), "roles=acd", "acd.presence_server=sip:"+pres.TCP+";transport=tcp")
	alice := siptest.NewPeer(t)
	reg := alice.Request("REGISTER", "sip:example.com", "alice", p.UDP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	if res := alice.DoAuth(reg, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("agent REGISTER: %d", res.StatusCode)
	}
	call := func(method, body, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+p.HTTP+"/v1/agents/me"+map[bool]string{true: "/state"}[method == "PUT"], strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const token = "alice-demo-token-change-me"
	if code, body := call("GET", "", token); code != 200 || !strings.Contains(body, `"state":"available"`) {
		t.Fatalf("GET me: %d %s", code, body)
	}
	if code, body := call("PUT", `{"state":"away"}`, token); code != 200 || !strings.Contains(body, `"state":"away"`) {
		t.Fatalf("PUT away: %d %s", code, body)
	}
	if code, body := call("PUT", `{"state":`, token); code != 400 || !strings.Contains(body, `"error":"bad_json"`) {
		t.Fatalf("bad JSON: %d %s", code, body)
	}
	if code, body := call("PUT", `{"state":"napping"}`, token); code != 400 || !strings.Contains(body, `"error":"bad_state"`) {
		t.Fatalf("bad state: %d %s", code, body)
	}
	if code, _ := call("GET", "", "not-a-token-at-all"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, body := call("PUT", `{"state":"available"}`, token); code != 200 || !strings.Contains(body, `"state":"available"`) {
		t.Fatalf("PUT available: %d %s", code, body)
	}
}
