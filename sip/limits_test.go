package sip

import (
	"fmt"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// refusedBy checks a 403 that names limit in its reason phrase and its
// Warning, counted in switchboard_refused_total.
func refusedBy(t *testing.T, st *stack, res *sipmsg.Response, limit string, before float64) {
	t.Helper()
	if res.StatusCode != 403 || !strings.Contains(res.Reason, limit) || !strings.Contains(siptest.Header(res, "Warning"), limit) {
		t.Errorf("got %d %q (Warning %q), want 403 naming %s", res.StatusCode, res.Reason, siptest.Header(res, "Warning"), limit)
	}
	if n := testutil.ToFloat64(st.srv.metrics.refused.WithLabelValues(limit)); n != before+1 {
		t.Errorf("switchboard_refused_total{limit=%q} = %v, want %v", limit, n, before+1)
	}
}

// One user cannot grow a presentity without bound: publications and their
// bytes per presentity are capped, and a refusal changes nothing while the
// existing publications can still be modified.
func TestLimits_PublicationsPerPresentity(t *testing.T) {
	st := newStack(t, func(_ *Config, pc *presence.Config) {
		pc.MaxPublications, pc.MaxDocumentBytes, pc.MaxPresentityBytes = 2, 512, 700
	})
	p := siptest.NewPeer(t)
	publish := func(tuple, note, etag string) *sipmsg.Response {
		hdrs := []string{"Event: presence", "Content-Type: application/pidf+xml", "Expires: 600"}
		if etag != "" {
			hdrs = append(hdrs, "SIP-If-Match: "+etag)
		}
		return p.Do(p.Request("PUBLISH", alice, "alice", st.srv.Addr("udp"), siptest.PIDF(alice, tuple, "open", note), hdrs...))
	}
	first := publish("t1", "", "")
	if first.StatusCode != 200 || publish("t2", "", "").StatusCode != 200 {
		t.Fatal("two publications refused")
	}
	refusedBy(t, st, publish("t3", "", ""), "presence.max_publications", 0)
	if n := st.presence.Stats().Publications; n != 2 {
		t.Fatalf("%d publications after the refusal", n)
	}
	res := publish("t1", "<note>back at 5</note>", siptest.Header(first, "SIP-ETag"))
	if res.StatusCode != 200 {
		t.Fatalf("modifying an existing publication: %d %s", res.StatusCode, res.Reason)
	}
	// The bytes: a modification (under max_document_bytes) that would take
	// the two past 700 bytes.
	big := publish("t1", "<note>"+strings.Repeat("x", 150)+"</note>", siptest.Header(res, "SIP-ETag"))
	refusedBy(t, st, big, "presence.max_presentity_bytes", 0)
}

// One watcher cannot hold subscriptions without bound, nor can one
// presentity gather them.
func TestLimits_Subscriptions(t *testing.T) {
	st := newStack(t, func(_ *Config, pc *presence.Config) {
		pc.MaxSubscriptionsPerWatcher, pc.MaxSubscriptionsPerPresentity = 2, 3
	})
	subscribe := func(p *siptest.Peer, watcher, target string) *sipmsg.Response {
		req := p.Request("SUBSCRIBE", target, watcher, st.srv.Addr("udp"), "", "Event: presence", "Expires: 600")
		return p.Do(req)
	}
	bob := siptest.NewPeer(t)
	for i := range 2 {
		if res := subscribe(bob, "bob", fmt.Sprintf("sip:user%d@example.com", i)); res.StatusCode/100 != 2 {
			t.Fatalf("bob's subscription %d: %d", i+1, res.StatusCode)
		}
	}
	refusedBy(t, st, subscribe(bob, "bob", "sip:user9@example.com"), "presence.max_subscriptions_per_watcher", 0)
	for _, w := range []string{"carol", "dave", "erin"} {
		if res := subscribe(siptest.NewPeer(t), w, "sip:user0@example.com"); res.StatusCode/100 != 2 && w != "erin" {
			t.Fatalf("%s's subscription: %d", w, res.StatusCode)
		} else if w == "erin" {
			refusedBy(t, st, res, "presence.max_subscriptions_per_presentity", 0)
		}
	}
}

// REGISTER keeps a bounded list of contacts, for served domains only.
func TestLimits_RegisterContactsAndDomains(t *testing.T) {
	st := newStack(t, nil)
	p := siptest.NewPeer(t)
	var contacts []string // and the peer's own Contact
	for i := range 10 {
		contacts = append(contacts, fmt.Sprintf("Contact: <sip:alice@127.0.0.1:%d>", 20000+i))
	}
	refusedBy(t, st, register(p, st, "many", 1, append(contacts, "Expires: 600")...), "registrar.max_contacts", 0)
	if res := register(p, st, "ten", 1, append(contacts[:9], "Expires: 600")...); res.StatusCode != 200 {
		t.Fatalf("ten contacts: %d", res.StatusCode)
	}
	req := p.Request("REGISTER", "sip:evil.example.net", "alice", st.srv.Addr("udp"), "", "Expires: 600")
	req.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "evil.example.net"}
	req.From().Address = req.To().Address
	if res := p.Do(req); res.StatusCode != 404 {
		t.Errorf("REGISTER of alice@evil.example.net: %d %s, want 404", res.StatusCode, res.Reason)
	}
}

// A refusal of a request carrying a large Record-Route still goes out over
// UDP: a refusal makes no dialog, so it does not copy the Record-Route
// (RFC 3261 §12.1.1), and stays under 1300 bytes, which sipgo needs.
func TestLimits_RefusalOfALargeRequestIsSent(t *testing.T) {
	st := newStack(t, nil)
	var contacts strings.Builder
	for i := range 11 {
		fmt.Fprintf(&contacts, "Contact: <sip:alice@127.0.0.1:%d>\n", 20000+i)
	}
	route := "Record-Route: <sip:" + strings.Repeat("r", 1500) + ".example.net;lr>\n"
	res := rawUDP(t, st, "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-bigrr\n"+
		"From: <sip:alice@example.com>;tag=1\nTo: <sip:alice@example.com>\nCall-ID: bigrr\nCSeq: 1 REGISTER\n"+
		"Max-Forwards: 70\nExpires: 600\n"+route+contacts.String()+"Content-Length: 0\n\n")
	if !strings.HasPrefix(res, "SIP/2.0 403") || strings.Contains(res, "Record-Route") {
		t.Fatalf("got %q", res)
	}
}
