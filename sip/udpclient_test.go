package sip

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A NOTIFY lost on its way is sent again (Timer E) with the same branch
// and CSeq; a 100 Trying does not end its transaction, the 200 does, and
// the subscription stays.
func TestUDPClient_LostNotifyIsSentAgainUntilAnswered(t *testing.T) {
	st := newStack(t, nil)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server := netip.MustParseAddrPort(st.srv.Addr("udp"))
	if _, err := c.WriteToUDPAddrPort(subscribeBytes(alice, c.LocalAddr().String(), 1), server); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	nextNotify := func() []byte {
		t.Helper()
		for {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("no NOTIFY: %v", err)
			}
			if bytes.HasPrefix(buf[:n], []byte("NOTIFY ")) {
				return bytes.Clone(buf[:n])
			}
		}
	}
	first := nextNotify() // lost: not answered
	again := nextNotify()
	if !bytes.Equal(first, again) || !bytes.HasPrefix(topBranch(first), []byte(ownBranch)) {
		t.Fatalf("retransmission differs or has a foreign branch:\n%s\n---\n%s", first, again)
	}
	for _, answer := range []verdict{refusal(100, "Trying"), refusal(200, "OK")} {
		if _, err := c.WriteToUDPAddrPort(refusalMessage(again, answer, "test"), server); err != nil {
			t.Fatal(err)
		}
	}
	sent := st.srv.metrics.notifies.WithLabelValues("sent")
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(sent) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the NOTIFY's transaction did not end with its 200")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := st.presence.Stats().Subscriptions; n != 1 {
		t.Fatalf("%d subscriptions, want 1", n)
	}
}

func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		in     string
		code   int
		reason string
		ok     bool
	}{
		{"SIP/2.0 200 OK\r\n", 200, "OK", true},
		{"SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: x\r\n", 481, "Call/Transaction Does Not Exist", true},
		{"SIP/2.0 20 OK\r\n", 0, "", false},
		{"SIP/2.0 2x0 OK\r\n", 0, "", false},
		{"SIP/2.0 099 Low\r\n", 0, "", false},
		{"SIP/3.0 200 OK\r\n", 0, "", false},
	} {
		code, reason, ok := statusLine([]byte(tc.in))
		if code != tc.code || reason != tc.reason || ok != tc.ok {
			t.Errorf("statusLine(%q) = %d %q %v, want %d %q %v", tc.in, code, reason, ok, tc.code, tc.reason, tc.ok)
		}
	}
}
