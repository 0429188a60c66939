package main

import (
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
