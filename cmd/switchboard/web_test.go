package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
)

// All three roles in one process: an agent's REGISTER and PUBLISH reach
// the availability JSON that websites poll.
func TestWeb_AgentPresenceReachesAvailabilityJSON(t *testing.T) {
	p := startSwitchboard(t, t.TempDir(), "acd.publish_interval=1s", "acd.min_publish_gap=50ms",
		"web.refresh_interval=200ms")
	agentGoesOnline(t, p.UDP, p.HTTP)
}

// Each role on a host of its own: the ACD PUBLISHes to the presence
// server, and the web role SUBSCRIBEs to it.
func TestWeb_ThreeHostsAgentPresenceReachesAvailabilityJSON(t *testing.T) {
	pres := startSwitchboard(t, t.TempDir(), "roles=presence")
	acdProc := startSwitchboard(t, t.TempDir(), "roles=acd", "acd.presence_server=sip:"+pres.TCP+";transport=tcp",
		"acd.publish_interval=1s", "acd.min_publish_gap=50ms")
	web := startSwitchboard(t, t.TempDir(), "roles=web", "web.presence_server=sip:"+pres.UDP,
		"web.refresh_interval=200ms")
	agentGoesOnline(t, acdProc.UDP, web.HTTP)
}

// agentGoesOnline has alice register and publish open at the ACD's SIP
// address, and waits for the web role's JSON to show billing open.
func agentGoesOnline(t *testing.T, acdSIP, webHTTP string) {
	t.Helper()
	get := func() string {
		res, err := http.Get("http://" + webHTTP + "/v1/availability/billing")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	siptest.WaitFor(t, "billing closed", func() bool { return strings.Contains(get(), `"status":"closed"`) })

	alice := siptest.NewPeer(t)
	reg := alice.Request("REGISTER", "sip:example.com", "alice", acdSIP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	if res := alice.DoAuth(reg, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	const aor = "sip:alice@example.com"
	pub := alice.Request("PUBLISH", aor, "alice", acdSIP, siptest.PIDF(aor, "phone", "open", ""),
		"Event: presence", "Content-Type: application/pidf+xml")
	if res := alice.DoAuth(pub, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("PUBLISH: %d", res.StatusCode)
	}
	siptest.WaitFor(t, "billing open", func() bool {
		body := get()
		return strings.Contains(body, `"status":"open"`) && strings.Contains(body, `"available_agents":1`)
	})
}
