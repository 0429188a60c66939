package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip/digestauth"
)

// The ACD's publisher authenticates when challenged, modifies its
// publication with SIP-If-Match, and starts over when the server answers
// 412 because it lost the publication.
func TestPublisher_RefreshesWithIfMatchAndRecoversFrom412(t *testing.T) {
	st := authStack(t)
	client := newStack(t, func(c *Config, _ *presence.Config) { c.TCP = "" }) // the ACD's own SIP endpoint
	pub, err := NewPublisher(client.srv, "sip:"+st.srv.Addr("udp"), "acd", "acd-pw", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const group = "sip:billing@example.com"
	ctx := context.Background()
	w := siptest.NewPeer(t)
	res := w.DoAuth(w.Request("SUBSCRIBE", group, "bob", st.srv.Addr("udp"), "", "Event: presence"), "bob", "bob-pw")
	if res.StatusCode/100 != 2 {
		t.Fatalf("subscribe: %d", res.StatusCode)
	}
	w.NextNotify()

	for _, basic := range []string{"open", "closed"} {
		if err := pub.Publish(ctx, presence.EventPresence, group, []byte(siptest.PIDF(group, "g", basic, ""))); err != nil {
			t.Fatal(err)
		}
		if n := w.NextNotify(); !strings.Contains(string(n.Body()), "<basic>"+basic+"</basic>") {
			t.Fatalf("after publishing %s:\n%s", basic, n.Body())
		}
	}
	if n := st.presence.Stats().Publications; n != 1 {
		t.Fatalf("%d publications, want the one modified in place", n)
	}

	pub.mu.Lock()
	pub.etags[group] = "lost-by-the-server"
	pub.mu.Unlock()
	if err := pub.Publish(ctx, presence.EventPresence, group, []byte(siptest.PIDF(group, "g", "open", ""))); err != nil {
		t.Fatalf("after a 412: %v", err)
	}
	if n := w.NextNotify(); !strings.Contains(string(n.Body()), "<basic>open</basic>") {
		t.Fatalf("after starting over:\n%s", n.Body())
	}
}

// The publisher reuses the nonce of its last challenge with a counting nc:
// after the first 401, PUBLISHes sent many at once (as the ACD sends them)
// are answered without another challenge.
func TestPublisher_ReusesTheNonce(t *testing.T) {
	st := authStack(t)
	client := newStack(t, func(c *Config, _ *presence.Config) { c.TCP = "" })
	pub, err := NewPublisher(client.srv, "sip:"+st.srv.Addr("udp"), "acd", "acd-pw", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	challenged := func() float64 {
		return testutil.ToFloat64(st.srv.metrics.requests.WithLabelValues("PUBLISH", "401"))
	}
	ctx := context.Background()
	publish := func(i int) error {
		uri := fmt.Sprintf("sip:agent%d@example.com", i)
		return pub.Publish(ctx, presence.EventPresence, uri, []byte(siptest.PIDF(uri, "acd", "open", "")))
	}
	if err := publish(0); err != nil {
		t.Fatal(err)
	}
	if n := challenged(); n != 1 {
		t.Fatalf("%v challenges for the first PUBLISH, want 1", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 8 {
				if err := publish(1 + w*8 + i); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := challenged(); n != 1 {
		t.Errorf("%v challenges after 65 PUBLISHes, want only the first", n)
	}
	if n := st.presence.Stats().Publications; n != 65 {
		t.Errorf("%d publications, want 65", n)
	}
}

// A document too large for UDP with its credentials goes over TCP to the
// presence server's port (RFC 3261 §18.1.1), which serves both.
func TestPublisher_LargeDocumentGoesOverTCP(t *testing.T) {
	port := sharedPort(t)
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.UDP, c.TCP = port, port
		c.Auth = AuthConfig{Enabled: true, Digest: digestauth.Config{Realm: "example.com"},
			Users: []User{{Name: "acd", Password: "acd-pw"}}, Trusted: []string{"acd"}}
	})
	client := newStack(t, nil) // the ACD's own SIP endpoint, with TCP
	pub, err := NewPublisher(client.srv, "sip:"+port, "acd", "acd-pw", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const group = "sip:support@example.com"
	doc := siptest.PIDF(group, "g", "open", "<note>"+strings.Repeat("figures ", 150)+"</note>") // about 1.5 kB
	if err := pub.Publish(context.Background(), presence.EventPresence, group, []byte(doc)); err != nil {
		t.Fatalf("a %d-byte document: %v", len(doc), err)
	}
	if got, ok := st.presence.Document(group); !ok || !strings.Contains(string(got), "figures figures") {
		t.Fatalf("document stored: %v", ok)
	}
}

// sharedPort is a loopback address free on both UDP and TCP.
func sharedPort(t *testing.T) string {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := u.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		u.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free on both UDP and TCP")
	return ""
}
