package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/calltest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// acdCluster starts n nodes with every role on a three-server JetStream
// cluster, a short cluster.takeover, callbacks through trunkPort, and
// returns them with the one that leads the ACD.
func acdCluster(t *testing.T, n int, trunkPort string) (nodes []*proc, leader *proc) {
	t.Helper()
	_, nats := natsCluster(t)
	for i := range n {
		sets := append(append(slices.Clone(callSets), nats...), "trunk.port="+trunkPort, "cluster.takeover=4s",
			"store.nats.node="+string(rune('a'+i)))
		nodes = append(nodes, startSwitchboard(t, t.TempDir(), sets...))
	}
	return nodes, waitLeader(t, nodes...)
}

// waitLeader waits until exactly one of nodes reports that it runs the
// ACD (switchboard_cluster_leader), and returns it.
func waitLeader(t *testing.T, nodes ...*proc) *proc {
	t.Helper()
	var leader *proc
	calltest.Eventually(t, "one ACD leader", func() bool {
		leader = nil
		n := 0
		for _, p := range nodes {
			if scrapeMetrics(t, p)["switchboard_cluster_leader"] == 1 {
				leader, n = p, n+1
			}
		}
		return n == 1
	})
	return leader
}

// waitAgentState waits until the ACD on p sees alice in state.
func waitAgentState(t *testing.T, p *proc, state string) {
	t.Helper()
	var got string
	calltest.Eventually(t, "alice "+state+" on the leader", func() bool {
		req, _ := http.NewRequest("GET", "http://"+p.HTTP+"/v1/agents/me", nil)
		req.Header.Set("Authorization", "Bearer alice-demo-token-change-me")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var v struct{ State string }
		json.NewDecoder(res.Body).Decode(&v)
		got = v.State
		return got == state
	})
}

// alicePublish PUBLISHes alice's presence through p (digest
// authenticated) and returns the entity tag; with ifMatch and no body,
// Expires 0 removes that publication (and "" is returned).
func alicePublish(t *testing.T, phone *siptest.Peer, p *proc, body, ifMatch string) string {
	t.Helper()
	const uri = "sip:alice@example.com"
	hdrs := []string{"Event: presence", "Expires: 600"}
	if body != "" {
		hdrs = append(hdrs, "Content-Type: application/pidf+xml")
	}
	if ifMatch != "" {
		hdrs = []string{"Event: presence", "Expires: 0", "SIP-If-Match: " + ifMatch}
	}
	res := phone.DoAuth(phone.Request(sipmsg.PUBLISH, uri, "alice", p.UDP, body, hdrs...), "alice", "alice-secret")
	if res.StatusCode != 200 {
		t.Fatalf("alice's PUBLISH through %s: %d %s", p.UDP, res.StatusCode, res.Reason)
	}
	if h := res.GetHeader("SIP-ETag"); h != nil {
		return h.Value()
	}
	return ""
}

// An agent's phone registers through a node that does not lead the ACD:
// the leader sees the binding and routes a callback to that phone; the
// standby answers the ACD's API 503, naming the leader.
func TestClusterACD_RegisterThroughAStandbyReachesTheLeader(t *testing.T) {
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	nodes, leader := acdCluster(t, 2, port)
	standby := nodes[0]
	if standby == leader {
		standby = nodes[1]
	}

	res, err := http.Post("http://"+standby.HTTP+"/v1/callbacks", "application/json",
		strings.NewReader(`{"group":"billing","phone":"06 12 34 56 78"}`))
	if err != nil {
		t.Fatal(err)
	}
	var refused struct {
		Error  string            `json:"error"`
		Leader map[string]string `json:"leader"`
	}
	json.NewDecoder(res.Body).Decode(&refused)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		refused.Error != "standby" || refused.Leader["http"] != leader.HTTP {
		t.Fatalf("POST /v1/callbacks on the standby: %d Retry-After %q %+v; want 503 naming the leader at %s",
			res.StatusCode, res.Header.Get("Retry-After"), refused, leader.HTTP)
	}

	alice := agent(t, standby, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	waitAgentState(t, leader, "available")
	code, cb := requestCallback(t, leader, `{"group":"billing","phone":"06 12 34 56 78"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /v1/callbacks on the leader: %d %+v", code, cb)
	}
	ac := calltest.Next(t, alice.Answered(), "the callback at the agent registered through the standby")
	if src := ac.Invite().Source(); src != leader.UDP {
		t.Errorf("the agent's INVITE came from %s, want the leader %s", src, leader.UDP)
	}
	if ac.Header("Switchboard-Callback") != cb.ID {
		t.Errorf("the agent got callback %q, want %s", ac.Header("Switchboard-Callback"), cb.ID)
	}
	calltest.Next(t, tr.Answered(), "the trunk call")
	waitCallback(t, leader, cb.ID, "talking")
}

// A callback queued on the ACD's leader while its one agent is busy (on
// the phone, as its phone PUBLISHed through another node) outlives the
// leader's SIGKILL: another node wins the lease, loads the callback and
// the agent's state from JetStream, and places the callback once the
// agent is free: the agent's phone, registered through a surviving
// node, gets the INVITE from the new leader, then the trunk gets the
// visitor's.
func TestClusterACD_CallbackQueuedOnAKilledLeaderIsPlacedByTheNext(t *testing.T) {
	tr, port := trunk(t, calltest.Behaviour{Action: calltest.Answer})
	nodes, leader := acdCluster(t, 3, port)
	survivors := slices.DeleteFunc(slices.Clone(nodes), func(p *proc) bool { return p == leader })
	via := survivors[0] // the node alice's phone talks to

	alice := agent(t, via, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	phone := siptest.NewPeer(t)
	etag := alicePublish(t, phone, via, alicePIDF("open", "on-the-phone"), "")
	waitAgentState(t, leader, "busy")
	code, cb := requestCallback(t, leader, `{"group":"billing","phone":"06 12 34 56 78"}`)
	if code != http.StatusAccepted || cb.State != "queued" || cb.Position != 1 {
		t.Fatalf("POST /v1/callbacks on the leader: %d %+v", code, cb)
	}

	leader.kill()
	killed := time.Now()
	next := waitLeader(t, survivors...)
	t.Logf("a new leader %s after the kill (cluster.takeover 4s)", time.Since(killed).Round(time.Millisecond))
	waitAgentState(t, next, "busy")
	alicePublish(t, phone, via, "", etag) // off the phone

	ac := calltest.Next(t, alice.Answered(), "the callback from the new leader")
	if src := ac.Invite().Source(); src != next.UDP {
		t.Errorf("the agent's INVITE came from %s, want the new leader %s", src, next.UDP)
	}
	if ac.Header("Switchboard-Callback") != cb.ID {
		t.Errorf("the agent got callback %q, want %s", ac.Header("Switchboard-Callback"), cb.ID)
	}
	tc := calltest.Next(t, tr.Answered(), "the trunk call from the new leader")
	if u := tc.Invite().Recipient.User; u != "+33612345678" {
		t.Errorf("trunk Request-URI user %q, want the visitor's number", u)
	}
	waitCallback(t, next, cb.ID, "talking")
}

// Killing the NATS server that leads the nodes bucket's stream leaves the
// bucket without a leader for a Raft election (4 to 9 s with
// nats-server's defaults): nobody can renew a lease meanwhile. With the
// default cluster.takeover, no Switchboard node stops and the ACD keeps
// its leader.
func TestClusterACD_LeaderKeepsLeadingWhenTheNodesStreamLeaderDies(t *testing.T) {
	c, nats := natsCluster(t)
	var nodes []*proc
	for _, name := range []string{"a", "b"} {
		nodes = append(nodes, startSwitchboard(t, t.TempDir(), append(slices.Clone(nats), "store.nats.node="+name)...))
	}
	leader := waitLeader(t, nodes...)

	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	nodesKV, err := js.KeyValue(ctx, "switchboard_nodes")
	if err != nil {
		t.Fatal(err)
	}
	streamLeader := c.StreamLeader(t, ctx, js, "KV_switchboard_nodes")
	streamLeader.Kill()
	killed := time.Now()
	t.Logf("killed %s, the nodes stream's leader", streamLeader.Name)

	// Wait for the lease to be renewed long after any election: 15 s.
	var gap time.Duration
	last := killed
	for {
		get, cancelGet := context.WithTimeout(ctx, 2*time.Second)
		e, err := nodesKV.Get(get, "leader.acd") // fails while the stream has no leader
		cancelGet()
		if err == nil && e.Created().After(last) {
			gap = max(gap, e.Created().Sub(last))
			last = e.Created()
		}
		if last.Sub(killed) > 15*time.Second {
			break
		}
		select {
		case <-leader.exited:
			t.Fatalf("the ACD leader stopped after the NATS server's death:\n%s", leader.logs())
		case <-ctx.Done():
			t.Fatalf("the ACD lease was not renewed 15 s after the kill (last renewal %s after)", last.Sub(killed))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("longest gap between the lease's renewals from the kill: %s", gap)
	for _, p := range nodes {
		select {
		case <-p.exited:
			t.Fatalf("a node stopped:\n%s", p.logs())
		default:
		}
	}
	if waitLeader(t, nodes...) != leader {
		t.Fatal("another node leads the ACD")
	}
}
