package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
)

// oaAgentCalls is a stand-in for calls.Manager: the agent talks unless
// idle; targets refuse as their names say.
type oaAgentCalls struct{ idle atomic.Bool }

func (a *oaAgentCalls) Hold(_ context.Context, _ string, _ bool) error {
	if a.idle.Load() {
		return calls.ErrNotTalking
	}
	return nil
}

func (a *oaAgentCalls) Transfer(_ context.Context, _ string, to calls.Target) error {
	switch {
	case a.idle.Load():
		return calls.ErrNotTalking
	case (to.Agent == "") == (to.Group == ""):
		return calls.ErrNoTarget
	case to.Agent == "sip:nobody@example.com":
		return fmt.Errorf("%w: %s", acd.ErrUnknownAgent, to.Agent)
	case to.Agent == "sip:away@example.com":
		return &acd.UnavailableError{Agent: to.Agent, State: acd.StateAway}
	case to.Agent == "sip:offline@example.com":
		return &acd.UnavailableError{Agent: to.Agent, State: acd.StateOffline}
	case to.Group == "sales":
		return fmt.Errorf("%w: %s", acd.ErrUnknownGroup, to.Group)
	case to.Group == "night":
		return &calls.RefusedError{Err: acd.ErrGroupClosed}
	}
	return nil
}

// The console's hold and transfer routes answer as openapi.json says,
// refusals included.
func TestAgentCall_RoutesMatchTheDocument(t *testing.T) {
	cs := &oaAgentCalls{}
	s := serve(t, Config{Addr: "127.0.0.1:0"}, Deps{Registerer: prometheus.NewRegistry(), Ready: func() error { return nil },
		Agents: &oaAgents{state: "busy", since: time.Now()}, AgentCalls: cs})
	base := "http://" + s.Addr()
	res, body := oaCall(t, "GET", base+"/openapi.json", "")
	doc := newOADoc(t, body)
	doc.response(t, "GET", "/openapi.json", res, body)
	auth := []string{"Authorization", "Bearer " + oaToken}
	check := func(path, body string, want int, code string, hdr ...string) {
		t.Helper()
		res, b := oaCall(t, "POST", base+path, body, hdr...)
		if res.StatusCode != want || code != "" && !jsonHasError(b, code) {
			t.Errorf("POST %s %s: %d %s, want %d %s", path, body, res.StatusCode, b, want, code)
		}
		doc.response(t, "POST", path, res, b)
	}
	const hold, transfer = "/v1/agents/me/call/hold", "/v1/agents/me/call/transfer"
	check(hold, `{"held":true}`, 401, "")
	check(hold, `{"held":true}`, 200, "", auth...)
	check(hold, `{"held":false}`, 200, "", auth...)
	check(hold, `{}`, 400, "no_held", auth...)
	check(hold, `{"held":`, 400, "bad_json", auth...)
	check(transfer, `{"agent":"sip:bob@example.com"}`, 202, "", auth...)
	check(transfer, `{"group":"support"}`, 202, "", auth...)
	check(transfer, `{}`, 400, "no_target", auth...)
	check(transfer, `{"agent":"sip:nobody@example.com"}`, 404, "unknown_agent", auth...)
	check(transfer, `{"group":"sales"}`, 404, "unknown_group", auth...)
	check(transfer, `{"agent":"sip:away@example.com"}`, 409, "agent_away", auth...)
	check(transfer, `{"agent":"sip:offline@example.com"}`, 409, "agent_offline", auth...)
	check(transfer, `{"group":"night"}`, 409, "group_closed", auth...)
	check(transfer, `{"group":"support"}`, 415, "", append(auth, "Content-Type", "text/plain")...)
	cs.idle.Store(true)
	check(hold, `{"held":true}`, 409, "not_talking", auth...)
	check(transfer, `{"group":"support"}`, 409, "not_talking", auth...)
}

// jsonHasError reports whether b is an error body with code.
func jsonHasError(b []byte, code string) bool {
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(b, &e) == nil && e.Error == code
}
