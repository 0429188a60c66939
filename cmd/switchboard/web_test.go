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
	get := func() string {
		res, err := http.Get("http://" + p.HTTP + "/v1/availability/billing")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	siptest.WaitFor(t, "billing closed", func() bool { return strings.Contains(get(), `"status":"closed"`) })

	alice := siptest.NewPeer(t)
	reg := alice.Request("REGISTER", "sip:example.com", "alice", p.UDP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	if res := alice.DoAuth(reg, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	const aor = "sip:alice@example.com"
	pub := alice.Request("PUBLISH", aor, "alice", p.UDP, siptest.PIDF(aor, "phone", "open", ""),
		"Event: presence", "Content-Type: application/pidf+xml")
	if res := alice.DoAuth(pub, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("PUBLISH: %d", res.StatusCode)
	}
	siptest.WaitFor(t, "billing open", func() bool {
		body := get()
		return strings.Contains(body, `"status":"open"`) && strings.Contains(body, `"available_agents":1`)
	})
}
