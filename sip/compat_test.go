package sip

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// rawUDP sends one datagram to the stack and returns the first response line
// and headers.
func rawUDP(t *testing.T, st *stack, msg string) string {
	t.Helper()
	c, err := net.Dial("udp", st.srv.Addr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg = strings.ReplaceAll(msg, "LOCAL", local)
	if _, err := c.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return string(buf[:n])
}

// Some phones send PUBLISH over UDP without Content-Length: the body is
// the rest of the datagram (RFC 3261 §18.3).
func TestCompat_UDPWithoutContentLength(t *testing.T) {
	st := newStack(t, nil)
	body := strings.ReplaceAll(siptest.PIDF(alice, "t1", "open", ""), "\n", "")
	res := rawUDP(t, st, `PUBLISH sip:alice@example.com SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-nocl-1;rport
From: <sip:alice@example.com>;tag=1
To: <sip:alice@example.com>
Call-ID: nocl-1
CSeq: 1 PUBLISH
Max-Forwards: 70
Event: presence
Expires: 600
Content-Type: application/pidf+xml

`+body)
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("publish without Content-Length: %q", res)
	}
	etag := ""
	for _, line := range strings.Split(res, "\r\n") {
		if v, ok := strings.CutPrefix(line, "SIP-ETag: "); ok {
			etag = v
		}
	}
	res = rawUDP(t, st, `PUBLISH sip:alice@example.com SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-nocl-2;rport
From: <sip:alice@example.com>;tag=1
To: <sip:alice@example.com>
Call-ID: nocl-2
CSeq: 2 PUBLISH
Max-Forwards: 70
Event: presence
SIP-If-Match: `+etag+`
Expires: 0

`)
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("un-PUBLISH without Content-Length: %q", res)
	}
	if _, ok := st.presence.Document(alice); ok {
		t.Fatal("publication not removed")
	}
}

func TestCompat_MissingHeadersGet400NamingThem(t *testing.T) {
	st := newStack(t, nil)
	res := rawUDP(t, st, `PUBLISH sip:alice@example.com SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-bad-1;rport
From: <sip:alice@example.com>;tag=1
Call-ID: bad-1
CSeq: 1 PUBLISH
Event: presence
Content-Length: 0

`)
	if !strings.HasPrefix(res, "SIP/2.0 400 Missing To header") {
		t.Fatalf("got %q", strings.SplitN(res, "\r\n", 2)[0])
	}
}
