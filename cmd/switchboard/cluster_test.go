package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// Two presence nodes share JetStream (store.driver nats): a watcher
// subscribed on node B gets a NOTIFY from B with the document a device
// PUBLISHed to node A, and, once the device unpublishes on A, a closed
// one.
func TestCluster_PublishOnOneNodeNotifiesWatchersOnAnother(t *testing.T) {
	url := natstest.RunJetStream(t)
	node := func(name string) *proc {
		return startSwitchboard(t, t.TempDir(), "roles=presence", "sip.auth.enabled=false",
			"store.driver=nats", "store.nats.urls="+url, "store.nats.node="+name)
	}
	a, b := node("a"), node("b")

	w := siptest.NewPeer(t)
	subscribe(w, b.UDP, "carol")
	if n := w.NextNotify(); !strings.Contains(string(n.Body()), "closed") {
		t.Fatalf("first NOTIFY: %s", n.Body())
	}
	dev := siptest.NewPeer(t)
	res := publish(dev, a.UDP, "carol", "")
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("PUBLISH to node A: %v", res)
	}
	n := nextNotifyWith(t, w, "<basic>open</basic>")
	if src := n.Source(); src != b.UDP {
		t.Fatalf("NOTIFY came from %s, want node B %s", src, b.UDP)
	}

	etag := res.GetHeader("SIP-ETag").Value()
	uri := "sip:carol@example.com"
	res = dev.Do(dev.Request(sipmsg.PUBLISH, uri, "carol", a.UDP, "", "Event: presence", "Expires: 0", "SIP-If-Match: "+etag))
	if res.StatusCode != 200 {
		t.Fatalf("unPUBLISH to node A: %d", res.StatusCode)
	}
	nextNotifyWith(t, w, "<basic>closed</basic>")
}

// natsCluster starts three NATS servers and returns them, with the
// settings of a node storing on them with three replicas: store.driver,
// then store.nats.urls, then store.nats.replicas.
func natsCluster(t *testing.T) (*natstest.Cluster, []string) {
	c := natstest.RunCluster(t, 3)
	return c, []string{"store.driver=nats", "store.nats.urls=" + c.URLs(), "store.nats.replicas=3"}
}

// nextNotifyWith waits for a NOTIFY whose body contains want, skipping
// others, for at most siptest.Wait.
func nextNotifyWith(t *testing.T, w *siptest.Peer, want string) *sipmsg.Request {
	t.Helper()
	deadline := time.After(siptest.Wait)
	for {
		select {
		case n := <-w.Notifies():
			if strings.Contains(string(n.Body()), want) {
				return n
			}
		case <-deadline:
			t.Fatalf("no NOTIFY with %s", want)
			return nil
		}
	}
}

// A node killed with SIGKILL: a surviving node takes its watcher's
// subscription over within cluster.takeover and NOTIFYs it in the same
// dialog, CSeq still increasing, with the presence other nodes receive;
// the watcher's refresh to the new node's Contact succeeds.
func TestCluster_SurvivorTakesOverADeadNodesWatchers(t *testing.T) {
	_, nats := natsCluster(t)
	node := func(name string) *proc {
		return startSwitchboard(t, t.TempDir(), append(nats, "roles=presence", "sip.auth.enabled=false",
			"cluster.takeover=4s", "store.nats.node="+name)...)
	}
	a, b, c := node("a"), node("b"), node("c")

	w := siptest.NewPeer(t)
	uri := "sip:carol@example.com"
	sub := w.Request(sipmsg.SUBSCRIBE, uri, "watcher", a.UDP, "", "Event: presence", "Expires: 3600")
	accepted := w.Do(sub)
	if accepted.StatusCode/100 != 2 {
		t.Fatalf("SUBSCRIBE to node A: %d %s", accepted.StatusCode, accepted.Reason)
	}
	w.NextNotify()
	dev := siptest.NewPeer(t)
	pub := publish(dev, b.UDP, "carol", "")
	if pub == nil || pub.StatusCode != 200 {
		t.Fatalf("PUBLISH to node B: %v", pub)
	}
	last := nextNotifyWith(t, w, "<basic>open</basic>")
	if last.Source() != a.UDP {
		t.Fatalf("NOTIFY from %s before the kill, want node A %s", last.Source(), a.UDP)
	}

	a.kill()
	killed := time.Now()
	taken := nextNotifyWith(t, w, "<basic>open</basic>") // the survivor sends the current state at once
	t.Logf("the survivor's first NOTIFY %s after the kill (cluster.takeover 4s)", time.Since(killed).Round(time.Millisecond))
	taker := map[string]*proc{b.UDP: b, c.UDP: c}[taken.Source()]
	if taker == nil {
		t.Fatalf("NOTIFY after the kill from %s, want node B %s or C %s", taken.Source(), b.UDP, c.UDP)
	}
	checkSameDialogLater(t, last, taken)

	etag := pub.GetHeader("SIP-ETag").Value()
	res := dev.Do(dev.Request(sipmsg.PUBLISH, uri, "carol", c.UDP, "", "Event: presence", "Expires: 0", "SIP-If-Match: "+etag))
	if res.StatusCode != 200 {
		t.Fatalf("unPUBLISH to node C: %d", res.StatusCode)
	}
	closed := nextNotifyWith(t, w, "<basic>closed</basic>")
	if closed.Source() != taker.UDP {
		t.Fatalf("NOTIFY from %s, want the node that took over, %s", closed.Source(), taker.UDP)
	}
	checkSameDialogLater(t, taken, closed)

	contact := closed.Contact()
	if contact == nil {
		t.Fatal("the survivor's NOTIFY has no Contact")
	}
	refresh := w.Request(sipmsg.SUBSCRIBE, contact.Address.String(), "watcher", taker.UDP, "", "Event: presence", "Expires: 600")
	refresh.ReplaceHeader(sub.From())
	refresh.ReplaceHeader(accepted.To())
	refresh.AppendHeader(sub.CallID())
	refresh.AppendHeader(&sipmsg.CSeqHeader{SeqNo: sub.CSeq().SeqNo + 1, MethodName: sipmsg.SUBSCRIBE})
	if res := w.Do(refresh); res.StatusCode != 200 {
		t.Fatalf("refresh SUBSCRIBE to the survivor: %d %s", res.StatusCode, res.Reason)
	}

	siptest.WaitFor(t, "the taker counting one takeover of one subscription", func() bool {
		m := scrapeMetrics(t, taker)
		return m["switchboard_cluster_takeovers_total"] == 1 && m["switchboard_cluster_adopted_subscriptions_total"] == 1
	})
	siptest.WaitFor(t, "two followers of the subscriptions bucket caught up", func() bool {
		current := 0
		for series, v := range scrapeMetrics(t, taker) {
			if strings.HasPrefix(series, `switchboard_cluster_replica_current{bucket="switchboard_subscriptions"`) && v == 1 {
				current++
			}
		}
		return current == 2
	})
	var out, errs bytes.Buffer
	if code := run([]string{"cluster", "status", "--set", nats[0], "--set", nats[1]}, &out, &errs); code != 0 {
		t.Fatalf("cluster status: exit %d: %s", code, errs.String())
	}
	t.Logf("cluster status:\n%s", out.String())
	for _, want := range []string{"\nb  ", "\nc  ", "live", "switchboard_subscriptions"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("cluster status lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\na  ") {
		t.Errorf("cluster status still lists node a, taken over:\n%s", out.String())
	}
}

// checkSameDialogLater fails unless next is in before's dialog with a
// higher CSeq.
func checkSameDialogLater(t *testing.T, before, next *sipmsg.Request) {
	t.Helper()
	if *next.CallID() != *before.CallID() || next.CSeq().SeqNo <= before.CSeq().SeqNo {
		t.Fatalf("NOTIFY with Call-ID %s CSeq %d after Call-ID %s CSeq %d: want the same dialog, a higher CSeq",
			*next.CallID(), next.CSeq().SeqNo, *before.CallID(), before.CSeq().SeqNo)
	}
}

// Nodes sharing JetStream sign visitor cookies with one generated key
// (web.cookie_key unset): a context cookie node A set routes on node B.
func TestCluster_VisitorCookieFromOneNodeIsGoodOnAnother(t *testing.T) {
	url := natstest.RunJetStream(t)
	node := func(name string) *proc {
		return startSwitchboard(t, t.TempDir(), "roles=presence,web", "sip.auth.enabled=false",
			"store.driver=nats", "store.nats.urls="+url, "store.nats.node="+name)
	}
	a, b := node("a"), node("b")
	cookie := postContext(t, a, `{"group":"support"}`)
	req, _ := http.NewRequest("GET", "http://"+b.HTTP+"/v1/context", nil)
	req.AddCookie(cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"route":{"group":"support"`) {
		t.Fatalf("node B reads node A's cookie as %s", body)
	}
}
