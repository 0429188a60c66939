package httpapi

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// On a standby node the ACD's routes answer 503 with a Retry-After and
// the leader's name and address; the others serve; once the node leads,
// the ACD's routes serve too.
func TestStandby_ACDRoutesNameTheLeaderUntilThisNodeLeads(t *testing.T) {
	var leading atomic.Bool
	s := serve(t, Config{Addr: "127.0.0.1:0"}, Deps{Registerer: prometheus.NewRegistry(), Ready: func() error { return nil },
		Agents:  &oaAgents{state: "available", since: time.Now()},
		Standby: func() (string, string, bool) { return "a", "192.0.2.1:8080", !leading.Load() }})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	me := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+s.Addr()+"/v1/agents/me", nil)
		req.Header.Set("Authorization", "Bearer "+oaToken)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	if code, _ := get(t, client, "http://"+s.Addr()+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz on a standby: %d", code)
	}
	res := me()
	var body struct {
		Error  string            `json:"error"`
		Leader map[string]string `json:"leader"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		body.Error != "standby" || body.Leader["node"] != "a" || body.Leader["http"] != "192.0.2.1:8080" {
		t.Fatalf("agent API on a standby: %d Retry-After %q %+v", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	leading.Store(true)
	if res := me(); res.StatusCode != http.StatusOK {
		t.Fatalf("agent API once this node leads: %d", res.StatusCode)
	}
}
