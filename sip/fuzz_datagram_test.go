package sip

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip/digestauth"
)

// FuzzDatagram sends whatever the fuzzer makes as one UDP datagram to a
// running server (sipgo's parser, the transaction layer, the admission
// checks and every handler, not one parser alone), then an OPTIONS: the
// server must still answer it, so nothing panicked or wedged, and, with
// authentication on, no datagram may leave state behind.
func FuzzDatagram(f *testing.F) {
	for _, seed := range []string{
		"PUBLISH sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:alice@example.com>\r\nCall-ID: c1\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: 10\r\n\r\n<presence>",
		"SUBSCRIBE sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2\r\nFrom: <sip:bob@example.com>;tag=b\r\nTo: <sip:alice@example.com>\r\nCall-ID: c2\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:bob@127.0.0.1:5070>\r\nEvent: dialog\r\nRecord-Route: <sip:192.0.2.1;lr>\r\nContent-Length: 0\r\n\r\n",
		"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK3\r\nFrom: <sip:alice@example.com>;tag=c\r\nTo: <sip:alice@example.com>\r\nCall-ID: c3\r\nCSeq: 1 REGISTER\r\nContact: *\r\nAuthorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"x\", uri=\"sip:example.com\", response=\"00\", qop=auth, nc=00000001, cnonce=\"y\"\r\nContent-Length: 0\r\n\r\n",
		"MESSAGE sip:visitor-1@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK4\r\nFrom: <sip:alice@example.com>;tag=d\r\nTo: <sip:visitor-1@example.com>\r\nCall-ID: c4\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
		"INVITE sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCSeq: 1 INVITE\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK5\r\nCSeq: 1 NOTIFY\r\n\r\n",
		"OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP  127.0.0.1 : 5070 ;branch = z9hG4bK6\r\nFrom: \"unbalanced <sip:a@b>;tag=e\r\nTo: sip:example.com\r\nCall-ID: c6\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\n",
		"\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	st := newStack(f, func(c *Config, _ *presence.Config) {
		c.TCP = ""
		c.Auth = AuthConfig{Enabled: true, Digest: digestauth.Config{Realm: "example.com"},
			Users: []User{{Name: "alice", Password: "alice-pw"}}}
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", st.srv.Addr("udp"))
	probe := 0
	f.Fuzz(func(t *testing.T, datagram []byte) {
		conn.WriteTo(datagram, dst)
		probe++
		id := "probe-" + strconv.Itoa(probe)
		options := "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK-" + id +
			"\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:example.com>\r\nCall-ID: " + id +
			"\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		conn.WriteTo([]byte(options), dst)
		buf := make([]byte, 65536)
		deadline := time.Now().Add(siptest.Wait)
		for {
			conn.SetReadDeadline(deadline)
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no answer to the OPTIONS after the datagram %q: %v", datagram, err)
			}
			if strings.Contains(string(buf[:n]), "Call-ID: "+id) && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
				break // answers to the fuzzed datagram itself are skipped
			}
		}
		if s := st.presence.Stats(); s.Publications != 0 || s.Subscriptions != 0 {
			t.Fatalf("state left by an unauthenticated datagram %q: %+v", datagram, s)
		}
	})
}
