package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// The web role on its own host watches group presentities over SIP: it
// authenticates, gets each change, and refreshes inside its dialog.
func TestWatcher_FollowsRemotePresentity(t *testing.T) {
	st := authStack(t)
	web := newStack(t, func(c *Config, _ *presence.Config) { c.TCP = "" })
	const group = "sip:billing@example.com"
	w, err := NewWatcher(web.srv, "sip:"+st.srv.Addr("udp"), "bob", "bob-pw", []string{group})
	if err != nil {
		t.Fatal(err)
	}
	web.srv.ServeWatcher(w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	siptest.WaitFor(t, "first NOTIFY", func() bool { _, ok := w.Document(group); return ok })

	p := siptest.NewPeer(t)
	res := p.DoAuth(p.Request("PUBLISH", group, "acd", st.srv.Addr("udp"), siptest.PIDF(group, "g", "open", ""),
		"Event: presence", "Content-Type: application/pidf+xml"), "acd", "acd-pw")
	if res.StatusCode != 200 {
		t.Fatalf("publish: %d", res.StatusCode)
	}
	siptest.WaitFor(t, "NOTIFY of the change", func() bool {
		doc, _ := w.Document(group)
		return strings.Contains(string(doc), "<basic>open</basic>")
	})
	if n := st.presence.Stats().Subscriptions; n != 1 {
		t.Fatalf("%d subscriptions on the server, want 1", n)
	}

	w.mu.Lock()
	before := w.subs[group].cseq
	w.subs[group].refreshAt = time.Time{} // due now
	w.mu.Unlock()
	siptest.WaitFor(t, "refresh", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.subs[group].cseq > before && !w.subs[group].refreshAt.IsZero()
	})
	if n := st.presence.Stats().Subscriptions; n != 1 {
		t.Fatalf("%d subscriptions after the refresh, want the same one", n)
	}
}
