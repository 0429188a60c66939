package sip

import (
	"testing"
)

// After a restart on the same file, publications are still there and a
// live subscription keeps its dialog, with CSeq still rising.
func TestRestart_KeepsPublicationsAndSubscriptionDialogs(t *testing.T) {
	st := newStack(t, nil)
	pub, w := newPeer(t), newPeer(t)
	_, _, etag := publish(pub, st, alice, pidfDoc(alice, "t1", "open", ""))
	subscribe(w, st, alice, "Event: presence", "Expires: 600")
	before := w.nextNotify()

	st.restart()

	if _, ok := st.presence.Document(alice); !ok {
		t.Fatal("publication lost in the restart")
	}
	res := pub.do(pub.request("PUBLISH", alice, "alice", st.srv.Addr("udp"), pidfDoc(alice, "t1", "closed", ""),
		"Event: presence", "Content-Type: application/pidf+xml", "SIP-If-Match: "+etag))
	if res.StatusCode != 200 {
		t.Fatalf("modify with the pre-restart etag: %d", res.StatusCode)
	}
	after := w.nextNotify()
	checkNotify(t, after, "active;expires=", "<basic>closed</basic>")
	if *after.CallID() != *before.CallID() || header(after, "From") != header(before, "From") {
		t.Fatalf("dialog changed: %s / %s", header(before, "From"), header(after, "From"))
	}
	if after.CSeq().SeqNo <= before.CSeq().SeqNo {
		t.Fatalf("CSeq went back from %d to %d", before.CSeq().SeqNo, after.CSeq().SeqNo)
	}
}
