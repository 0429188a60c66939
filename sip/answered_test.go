package sip

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// A PUBLISH retransmitted over UDP after its 200 gets the very same
// answer, from the answered cache (sipgo's transaction is gone), without
// being handled twice; the same branch from another port is another
// transaction (RFC 3261 §17.2.3 keys by sent-by too), handled as such.
func TestAnswered_RetransmissionGetsTheSameAnswer(t *testing.T) {
	st := newStack(t, nil)
	dst, _ := net.ResolveUDPAddr("udp", st.srv.Addr("udp"))
	listen := func() net.PacketConn {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	roundTrip := func(c net.PacketConn, msg []byte) string {
		t.Helper()
		c.WriteTo(msg, dst)
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return string(buf[:n])
	}
	publishFrom := func(c net.PacketConn) []byte {
		msg := strings.Replace(string(publishBytes(1)), "127.0.0.1:5999", c.LocalAddr().String(), 1)
		return []byte(strings.Replace(msg, "Content-Length: 0", "Event: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: "+
			strconv.Itoa(len(pidfOf(1))), 1) + pidfOf(1))
	}
	c := listen()
	msg := publishFrom(c)
	first := roundTrip(c, msg)
	if !strings.HasPrefix(first, "SIP/2.0 200") || !strings.Contains(first, "SIP-ETag: ") {
		t.Fatalf("first answer:\n%s", first)
	}
	// Handled again, it would have made a second publication, with
	// another SIP-ETag.
	if again := roundTrip(c, msg); again != first {
		t.Fatalf("retransmission answered\n%s\nafter\n%s", again, first)
	}
	o := listen()
	if other := roundTrip(o, publishFrom(o)); !strings.HasPrefix(other, "SIP/2.0 200") || other == first {
		t.Fatalf("the same branch from another port answered\n%s", other)
	}
}

// A retransmission can pass the screen while its original is still being
// answered, and reach the handlers once sipgo's transaction has ended: it
// gets the original's answer, and is not handled a second time (under
// load a PUBLISH handled twice came back 401, its nonce count replayed).
func TestAnswered_RetransmissionPastTheScreenIsNotHandledTwice(t *testing.T) {
	st := newStack(t, nil)
	dst, _ := net.ResolveUDPAddr("udp", st.srv.Addr("udp"))
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := strings.Replace(string(publishBytes(1)), "127.0.0.1:5999", c.LocalAddr().String(), 1)
	msg = strings.Replace(msg, "Content-Length: 0", "Event: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: "+
		strconv.Itoa(len(pidfOf(1))), 1) + pidfOf(1)
	c.WriteTo([]byte(msg), dst)
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	first := string(buf[:n])

	// The same request, as sipgo hands it to the server after the screen.
	req, err := sipmsg.ParseMessage([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	r := req.(*sipmsg.Request)
	r.SetSource(c.LocalAddr().String())
	// The server keeps its answer just after sending it: the window this
	// retransmission fell in opens then.
	branch, _ := r.Via().Params.Get("branch")
	key := transactionKey([]byte("PUBLISH"), []byte(branch), netip.MustParseAddrPort(c.LocalAddr().String()))
	for deadline := time.Now().Add(5 * time.Second); st.srv.answered.get(key, time.Now()) == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the first answer was never kept")
		}
		time.Sleep(time.Millisecond)
	}
	handled := false
	st.srv.handle(func(*exchange) { handled = true })(r, nil)
	if handled {
		t.Fatal("the retransmission was handled a second time")
	}
	n, _, err = c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer to the retransmission: %v", err)
	}
	if again := string(buf[:n]); again != first {
		t.Fatalf("retransmission answered\n%s\nafter\n%s", again, first)
	}
}
