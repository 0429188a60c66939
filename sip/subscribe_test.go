package sip

import (
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip/digestauth"
)

// subscribe sends an initial SUBSCRIBE and returns the response.
func subscribe(p *siptest.Peer, st *stack, uri string, hdrs ...string) *sipmsg.Response {
	p.T.Helper()
	return p.Do(p.Request("SUBSCRIBE", uri, "bob", st.srv.Addr("udp"), "", hdrs...))
}

// inDialog builds a SUBSCRIBE inside the dialog the response res created.
func inDialog(p *siptest.Peer, st *stack, first *sipmsg.Request, res *sipmsg.Response, cseq uint32, hdrs ...string) *sipmsg.Request {
	p.T.Helper()
	req := p.Request("SUBSCRIBE", first.Recipient.String(), "bob", st.srv.Addr("udp"), "", hdrs...)
	req.ReplaceHeader(first.From())
	req.ReplaceHeader(res.To())
	req.AppendHeader(first.CallID())
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: "SUBSCRIBE"})
	return req
}

func checkNotify(t *testing.T, n *sipmsg.Request, wantState, wantBody string) {
	t.Helper()
	if got := siptest.Header(n, "Subscription-State"); !strings.HasPrefix(got, wantState) {
		t.Fatalf("Subscription-State %q, want prefix %q", got, wantState)
	}
	if got := siptest.Header(n, "Content-Type"); got != "application/pidf+xml" {
		t.Fatalf("Content-Type %q, want exactly application/pidf+xml", got)
	}
	if got := siptest.Header(n, "Event"); got != "presence" {
		t.Fatalf("Event %q", got)
	}
	if n.ContentLength() == nil || int(*n.ContentLength()) != len(n.Body()) {
		t.Fatalf("Content-Length missing or wrong")
	}
	if !strings.Contains(string(n.Body()), wantBody) {
		t.Fatalf("body lacks %q:\n%s", wantBody, n.Body())
	}
}

func TestSubscribe_NothingPublishedGets202AndClosedNotify(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	res := subscribe(w, st, alice, "Event: presence", "Accept: application/pidf+xml", "Expires: 600")
	if res.StatusCode != 202 || siptest.Header(res, "Expires") != "600" {
		t.Fatalf("got %d Expires=%q, want 202 Expires=600", res.StatusCode, siptest.Header(res, "Expires"))
	}
	if tag, _ := res.To().Params.Get("tag"); tag == "" {
		t.Fatal("no To tag in the answer")
	}
	checkNotify(t, w.NextNotify(), "active;expires=", "<basic>closed</basic>")
}

func TestSubscribe_NotifiesEveryChangeInOrder(t *testing.T) {
	st := newStack(t, nil)
	pub, w := siptest.NewPeer(t), siptest.NewPeer(t)
	_, _, etag := publish(pub, st, alice, siptest.PIDF(alice, "t1", "open", `<dm:person id="p1"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>`))
	res := subscribe(w, st, alice, "Event: presence") // no Accept: PIDF
	if res.StatusCode != 200 {
		t.Fatalf("subscribe: %d", res.StatusCode)
	}
	first := w.NextNotify()
	checkNotify(t, first, "active", "<rpid:on-the-phone/>")

	publish(pub, st, alice, siptest.PIDF(alice, "t1", "closed", ""), "SIP-If-Match: "+etag)
	second := w.NextNotify()
	checkNotify(t, second, "active", "<basic>closed</basic>")
	if second.CSeq().SeqNo <= first.CSeq().SeqNo {
		t.Fatalf("CSeq went from %d to %d", first.CSeq().SeqNo, second.CSeq().SeqNo)
	}
	if *second.CallID() != *first.CallID() {
		t.Fatal("NOTIFYs in different dialogs")
	}
}

func TestSubscribe_RefreshUnsubscribeAndUnknownDialog(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	first := w.Request("SUBSCRIBE", alice, "bob", st.srv.Addr("udp"), "", "Event: presence", "Expires: 600")
	first.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: "SUBSCRIBE"})
	res := w.Do(first)
	w.NextNotify()

	ref := w.Do(inDialog(w, st, first, res, 2, "Event: presence", "Expires: 900"))
	if ref.StatusCode != 200 || siptest.Header(ref, "Expires") != "900" {
		t.Fatalf("refresh: %d Expires=%q", ref.StatusCode, siptest.Header(ref, "Expires"))
	}
	checkNotify(t, w.NextNotify(), "active;expires=9", "closed")

	un := w.Do(inDialog(w, st, first, res, 3, "Event: presence", "Expires: 0"))
	if un.StatusCode != 200 {
		t.Fatalf("unsubscribe: %d", un.StatusCode)
	}
	checkNotify(t, w.NextNotify(), "terminated;reason=timeout", "closed")

	again := w.Do(inDialog(w, st, first, res, 4, "Event: presence", "Expires: 600"))
	if again.StatusCode != 481 {
		t.Fatalf("SUBSCRIBE in an ended dialog: %d, want 481", again.StatusCode)
	}
	if n := st.presence.Stats().Subscriptions; n != 0 {
		t.Fatalf("%d subscriptions left", n)
	}
}

func TestSubscribe_FetchGetsExactlyOneNotify(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	if res := subscribe(w, st, alice, "Event: presence", "Expires: 0"); res.StatusCode/100 != 2 {
		t.Fatalf("fetch: %d", res.StatusCode)
	}
	checkNotify(t, w.NextNotify(), "terminated;reason=timeout", "closed")
	pub := siptest.NewPeer(t)
	publish(pub, st, alice, siptest.PIDF(alice, "t1", "open", ""))
	// A later change must not reach the fetcher: a second watcher that
	// subscribes after it sees the change, so the fetcher would have too.
	w2 := siptest.NewPeer(t)
	subscribe(w2, st, alice, "Event: presence")
	w2.NextNotify()
	w.NoNotify()
}

func TestSubscribe_Refusals(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	cases := []struct {
		name     string
		uri      string
		hdrs     []string
		wantCode int
		wantHdr  string
	}{
		{"unknown event", alice, []string{"Event: message-summary"}, 489, "Allow-Events"},
		{"no pidf accepted", alice, []string{"Event: presence", "Accept: application/xpidf+xml"}, 406, "Accept"},
		{"too brief", alice, []string{"Event: presence", "Expires: 5"}, 423, "Min-Expires"},
		{"foreign domain", "sip:alice@elsewhere.org", []string{"Event: presence"}, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := subscribe(w, st, c.uri, c.hdrs...)
			if res.StatusCode != c.wantCode {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, c.wantCode)
			}
			if c.wantHdr != "" && siptest.Header(res, c.wantHdr) == "" {
				t.Fatalf("no %s header", c.wantHdr)
			}
		})
	}
	if n := st.presence.Stats().Subscriptions; n != 0 {
		t.Fatalf("%d subscriptions after refusals", n)
	}
	w.NoNotify()
}

func TestSubscribe_NotifyAnswered481EndsSubscription(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t, siptest.Answer(func(*sipmsg.Request) int { return 481 }))
	subscribe(w, st, alice, "Event: presence")
	w.NextNotify()
	siptest.WaitFor(t, "subscription dropped", func() bool { return st.presence.Stats().Subscriptions == 0 })
}

func TestSubscribe_UnansweredNotifyEndsSubscription(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	subscribe(w, st, alice, "Event: presence")
	w.NextNotify()
	w.Stop() // the watcher vanishes: retransmissions go unanswered
	publish(siptest.NewPeer(t), st, alice, siptest.PIDF(alice, "t1", "open", ""))
	siptest.WaitFor(t, "subscription dropped", func() bool { return st.presence.Stats().Subscriptions == 0 })
}

func TestSubscribe_ExpiryNotifiesTimeout(t *testing.T) {
	st := newStack(t, func(_ *Config, pc *presence.Config) { pc.SubscribeMinExpires = 1e9 })
	w := siptest.NewPeer(t)
	subscribe(w, st, alice, "Event: presence", "Expires: 1")
	w.NextNotify()
	checkNotify(t, w.NextNotify(), "terminated;reason=timeout", "closed")
}

// publishLarge publishes for alice, over TCP, a document whose NOTIFY is
// too large for UDP.
func publishLarge(t *testing.T, p *siptest.Peer, st *stack) {
	t.Helper()
	note := `<dm:person id="p"><dm:note>` + strings.Repeat("busy ", 400) + `</dm:note></dm:person>`
	req := p.Request("PUBLISH", alice, "alice", st.srv.Addr("tcp"), siptest.PIDF(alice, "t1", "open", note),
		"Event: presence", "Content-Type: application/pidf+xml")
	req.SetTransport("TCP")
	if res := p.Do(req); res.StatusCode != 200 {
		t.Fatalf("publish: %d", res.StatusCode)
	}
}

func TestSubscribe_LargeNotifyGoesOverTCP(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	subscribe(w, st, alice, "Event: presence")
	w.NextNotify()
	publishLarge(t, w, st)
	n := w.NextNotify()
	checkNotify(t, n, "active", "busy busy")
	if n.Transport() != "TCP" {
		t.Fatalf("large NOTIFY came over %s", n.Transport())
	}
}

// Under presence.watch_policy list, a user watches itself, the public
// presentities and those that list it; anyone else gets 403.
func TestSubscribe_WatchPolicyList(t *testing.T) {
	st := newStack(t, func(c *Config, pc *presence.Config) {
		c.Auth = AuthConfig{Enabled: true, Digest: digestauth.Config{Realm: "example.com"},
			Users: []User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}, {Name: "carol", Password: "carol-pw"}}}
		pc.WatchPolicy = presence.WatchList
		pc.Watchers = map[string][]string{alice: {"bob"}}
		pc.Public = []string{"sip:billing@example.com"}
	})
	for _, tc := range []struct {
		user, target string
		want         int
	}{
		{"bob", alice, 2}, {"carol", alice, 4}, {"carol", "sip:billing@example.com", 2},
		{"alice", alice, 2}, {"alice", "sip:bob@example.com", 4},
	} {
		p := siptest.NewPeer(t)
		res := p.DoAuth(p.Request("SUBSCRIBE", tc.target, tc.user, st.srv.Addr("udp"), "", "Event: presence"), tc.user, tc.user+"-pw")
		if res.StatusCode/100 != tc.want {
			t.Errorf("%s watching %s: %d %s, want %dxx", tc.user, tc.target, res.StatusCode, res.Reason, tc.want)
		}
	}
}

// A BLF key subscribes to the dialog package: its NOTIFYs carry
// Event: dialog (RFC 6665 §8.2.1: the SUBSCRIBE's package) and dialog-info.
// Until 2026-12 they said Event: presence, which SIPp's scenario did not
// check and a phone may refuse with 489.
func TestSubscribe_DialogPackageNotifiesSayDialog(t *testing.T) {
	st := newStack(t, nil)
	w := siptest.NewPeer(t)
	res := subscribe(w, st, alice, "Event: dialog", "Accept: application/dialog-info+xml", "Expires: 600")
	if res.StatusCode/100 != 2 {
		t.Fatalf("subscribe: %d", res.StatusCode)
	}
	n := w.NextNotify()
	if got := siptest.Header(n, "Event"); got != "dialog" {
		t.Fatalf("Event %q, want dialog", got)
	}
	if got := siptest.Header(n, "Content-Type"); got != "application/dialog-info+xml" {
		t.Fatalf("Content-Type %q", got)
	}
}
