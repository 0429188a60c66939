package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

const alice = "sip:alice@example.com"

func publish(p *siptest.Peer, st *stack, uri, body string, hdrs ...string) (int, string, string) {
	p.T.Helper()
	hdrs = append([]string{"Event: presence"}, hdrs...)
	if body != "" {
		hdrs = append(hdrs, "Content-Type: application/pidf+xml")
	}
	res := p.Do(p.Request("PUBLISH", uri, "alice", st.srv.Addr("udp"), body, hdrs...))
	return res.StatusCode, res.Reason, siptest.Header(res, "SIP-ETag")
}

func TestPublish_LifecycleInitialRefreshModifyRemove(t *testing.T) {
	st := newStack(t, nil)
	p := siptest.NewPeer(t)

	code, _, etag := publish(p, st, alice, siptest.PIDF(alice, "t1", "open", ""), "Expires: 120")
	if code != 200 || etag == "" {
		t.Fatalf("initial: %d etag=%q", code, etag)
	}
	if doc, ok := st.presence.Document(alice); !ok || !strings.Contains(string(doc), "<basic>open</basic>") {
		t.Fatalf("document after initial: %s", doc)
	}

	res := p.Do(p.Request("PUBLISH", alice, "alice", st.srv.Addr("udp"), "", "Event: presence", "SIP-If-Match: "+etag, "Expires: 300"))
	refreshed := siptest.Header(res, "SIP-ETag")
	if res.StatusCode != 200 || refreshed == "" || refreshed == etag || siptest.Header(res, "Expires") != "300" {
		t.Fatalf("refresh: %d etag=%q expires=%q", res.StatusCode, refreshed, siptest.Header(res, "Expires"))
	}

	code, _, modified := publish(p, st, alice, siptest.PIDF(alice, "t1", "closed", ""), "SIP-If-Match: "+refreshed)
	if code != 200 || modified == refreshed {
		t.Fatalf("modify: %d etag=%q", code, modified)
	}
	if doc, _ := st.presence.Document(alice); !strings.Contains(string(doc), "<basic>closed</basic>") {
		t.Fatalf("document after modify: %s", doc)
	}

	code, _, _ = publish(p, st, alice, siptest.PIDF(alice, "t1", "open", ""), "SIP-If-Match: "+etag)
	if code != 412 {
		t.Fatalf("modify with a superseded etag: %d, want 412", code)
	}

	res = p.Do(p.Request("PUBLISH", alice, "alice", st.srv.Addr("udp"), "", "Event: presence", "SIP-If-Match: "+modified, "Expires: 0"))
	if res.StatusCode != 200 || siptest.Header(res, "Expires") != "0" {
		t.Fatalf("remove: %d expires=%q", res.StatusCode, siptest.Header(res, "Expires"))
	}
	if _, ok := st.presence.Document(alice); ok {
		t.Fatal("publication still there after removal")
	}
}

func TestPublish_ExpiresClampedToMaximum(t *testing.T) {
	st := newStack(t, nil)
	p := siptest.NewPeer(t)
	res := p.Do(p.Request("PUBLISH", alice, "alice", st.srv.Addr("udp"), siptest.PIDF(alice, "t1", "open", ""),
		"Event: presence", "Content-Type: application/pidf+xml", "Expires: 999999"))
	if res.StatusCode != 200 || siptest.Header(res, "Expires") != "7200" {
		t.Fatalf("got %d Expires=%q, want 200 Expires=7200", res.StatusCode, siptest.Header(res, "Expires"))
	}
}

func TestPublish_RefusalsChangeNothing(t *testing.T) {
	st := newStack(t, func(_ *Config, pc *presence.Config) { pc.MaxDocumentBytes = 4096 })
	p := siptest.NewPeer(t)
	good := siptest.PIDF(alice, "t1", "open", "")
	cases := []struct {
		name       string
		uri, body  string
		hdrs       []string
		wantCode   int
		wantReason string
		wantHeader string
	}{
		{"unknown etag", alice, "", []string{"Event: presence", "SIP-If-Match: nosuchtag"}, 412, "Conditional Request Failed", ""},
		{"too brief", alice, good, []string{"Event: presence", "Content-Type: application/pidf+xml", "Expires: 10"}, 423, "Interval Too Brief", "Min-Expires: 60"},
		{"unknown event", alice, good, []string{"Event: message-summary", "Content-Type: application/pidf+xml"}, 489, "Bad Event", "Allow-Events: presence, dialog"},
		{"no event", alice, good, []string{"Content-Type: application/pidf+xml"}, 489, "Bad Event", "Allow-Events: presence, dialog"},
		{"PIDF for dialog", alice, good, []string{"Event: dialog", "Content-Type: application/pidf+xml"}, 415, "Unsupported Media Type", "Accept: application/dialog-info+xml"},
		{"wrong type", alice, good, []string{"Event: presence", "Content-Type: application/xpidf+xml"}, 415, "Unsupported Media Type", "Accept: application/pidf+xml"},
		{"malformed", alice, "<presence", []string{"Event: presence", "Content-Type: application/pidf+xml"}, 400, "malformed", ""},
		{"entity mismatch", alice, siptest.PIDF("sip:bob@example.com", "t1", "open", ""), []string{"Event: presence", "Content-Type: application/pidf+xml"}, 400, "entity", ""},
		{"tuple without id", alice, siptest.PIDF(alice, "", "open", ""), []string{"Event: presence", "Content-Type: application/pidf+xml"}, 400, "tuple without id", ""},
		{"basic unknown", alice, siptest.PIDF(alice, "t1", "unknown", ""), []string{"Event: presence", "Content-Type: application/pidf+xml"}, 400, "basic", ""},
		{"no body", alice, "", []string{"Event: presence"}, 400, "without body", ""},
		{"oversized", alice, siptest.PIDF(alice, "t1", "open", "<note>"+strings.Repeat("x", 5000)+"</note>"), []string{"Event: presence", "Content-Type: application/pidf+xml"}, 400, "too large", ""},
		{"foreign domain", "sip:alice@elsewhere.org", siptest.PIDF("sip:alice@elsewhere.org", "t1", "open", ""), []string{"Event: presence", "Content-Type: application/pidf+xml"}, 404, "Not Found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := st.srv.Addr("udp")
			if len(c.body) > 1000 {
				dest = st.srv.Addr("tcp")
			}
			req := p.Request("PUBLISH", c.uri, "alice", dest, c.body, c.hdrs...)
			if dest == st.srv.Addr("tcp") {
				req.SetTransport("TCP")
			}
			res := p.Do(req)
			if res.StatusCode != c.wantCode || !strings.Contains(strings.ToLower(res.Reason), strings.ToLower(c.wantReason)) {
				t.Fatalf("got %d %q, want %d with %q", res.StatusCode, res.Reason, c.wantCode, c.wantReason)
			}
			if c.wantHeader != "" {
				k, v, _ := strings.Cut(c.wantHeader, ": ")
				if got := siptest.Header(res, k); got != v {
					t.Fatalf("%s: %q, want %q", k, got, v)
				}
			}
			if res.ContentLength() == nil {
				t.Fatal("response without Content-Length")
			}
			if st := st.presence.Stats(); st.Publications != 0 {
				t.Fatalf("%d publications stored after a refusal", st.Publications)
			}
		})
	}
}

func TestPublish_ExpiresOnTime(t *testing.T) {
	st := newStack(t, func(_ *Config, pc *presence.Config) {
		pc.PublishMinExpires = time.Second
	})
	p := siptest.NewPeer(t)
	if code, _, _ := publish(p, st, alice, siptest.PIDF(alice, "t1", "open", ""), "Expires: 1"); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	siptest.WaitFor(t, "publication expired", func() bool { _, ok := st.presence.Document(alice); return !ok })
}
