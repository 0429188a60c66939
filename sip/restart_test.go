package sip

import (
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
)

// After a restart on the same file, publications are still there and a
// live subscription keeps its dialog, with CSeq still rising.
func TestRestart_KeepsPublicationsAndSubscriptionDialogs(t *testing.T) {
	st := newStack(t, nil)
	pub, w := siptest.NewPeer(t), siptest.NewPeer(t)
	_, _, etag := publish(pub, st, alice, siptest.PIDF(alice, "t1", "open", ""))
	subscribe(w, st, alice, "Event: presence", "Expires: 600")
	before := w.NextNotify()

	st.restart()

	if _, ok := st.presence.Document(alice); !ok {
		t.Fatal("publication lost in the restart")
	}
	res := pub.Do(pub.Request("PUBLISH", alice, "alice", st.srv.Addr("udp"), siptest.PIDF(alice, "t1", "closed", ""),
		"Event: presence", "Content-Type: application/pidf+xml", "SIP-If-Match: "+etag))
	if res.StatusCode != 200 {
		t.Fatalf("modify with the pre-restart etag: %d", res.StatusCode)
	}
	after := w.NextNotify()
	checkNotify(t, after, "active;expires=", "<basic>closed</basic>")
	if *after.CallID() != *before.CallID() || siptest.Header(after, "From") != siptest.Header(before, "From") {
		t.Fatalf("dialog changed: %s / %s", siptest.Header(before, "From"), siptest.Header(after, "From"))
	}
	if after.CSeq().SeqNo <= before.CSeq().SeqNo {
		t.Fatalf("CSeq went back from %d to %d", before.CSeq().SeqNo, after.CSeq().SeqNo)
	}
}
