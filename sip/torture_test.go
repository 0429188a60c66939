package sip

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip/digestauth"
)

// tortureCase is one message of testdata/rfc4475, written after the test
// of RFC 4475 that bears its name, and the answers that RFC allows a user
// agent server (0: none at all).
type tortureCase struct {
	name    string
	answers []int
	auth    bool // sent to a server that challenges
}

var tortureCases = []tortureCase{
	// §3.1.1: valid messages, read and answered.
	{name: "wsinv", answers: []int{200}},
	{name: "intmeth", answers: []int{501}},
	{name: "esc01", answers: []int{200}},
	{name: "escnull", answers: []int{200}},
	{name: "esc02", answers: []int{501}},
	{name: "lwsdisp", answers: []int{200}},
	{name: "longreq", answers: []int{200}},
	{name: "dblreq", answers: []int{200}},
	{name: "semiuri", answers: []int{200}},
	{name: "transports", answers: []int{200}},
	{name: "mpart01", answers: []int{200}},
	{name: "unreason", answers: []int{0}}, // a response to no request of ours
	{name: "noreason", answers: []int{0}},
	// §3.1.2: invalid messages, refused with the right answer.
	{name: "badinv01", answers: []int{400}},
	{name: "clerr", answers: []int{400}},
	{name: "ncl", answers: []int{400}},
	{name: "scalar02", answers: []int{400}},
	{name: "scalarlg", answers: []int{0}},
	{name: "quotbal", answers: []int{400}},
	{name: "ltgtruri", answers: []int{400}},
	{name: "lwsruri", answers: []int{400}},
	{name: "lwsstart", answers: []int{400}},
	{name: "trws", answers: []int{400, 200}},
	{name: "escruri", answers: []int{400}},
	{name: "baddate", answers: []int{200, 400}},
	{name: "regbadct", answers: []int{400}},
	{name: "badaspec", answers: []int{400}},
	{name: "baddn", answers: []int{400}},
	{name: "badvers", answers: []int{505}},
	{name: "mismatch01", answers: []int{400}},
	{name: "mismatch02", answers: []int{501}},
	{name: "bigcode", answers: []int{0}},
	// §3.2 and §3.3: transaction and application layer.
	{name: "badbranch", answers: []int{200}},
	{name: "insuf", answers: []int{400}},
	{name: "unkscm", answers: []int{416}},
	{name: "novelsc", answers: []int{416}},
	{name: "unksm2", answers: []int{200}},
	{name: "bext01", answers: []int{420}},
	{name: "invut", answers: []int{415}},
	{name: "regaut01", answers: []int{401}, auth: true},
	{name: "multi01", answers: []int{400}},
	{name: "mcl01", answers: []int{400}},
	{name: "zeromf", answers: []int{200}},
	// §3.4: backward compatibility.
	{name: "inv2543", answers: []int{200}},
}

// tortureMessage reads a case's message with CRLF line ends, the sender's
// address for $VIA and the body's length for $LEN; longreq is built here.
func tortureMessage(t testing.TB, name, via string) []byte {
	t.Helper()
	var msg string
	if name == "longreq" {
		msg = longRequest(via)
	} else {
		b, err := os.ReadFile(filepath.Join("testdata", "rfc4475", name+".sip"))
		if err != nil {
			t.Fatal(err)
		}
		msg = string(b)
	}
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	msg = strings.ReplaceAll(msg, "$VIA", via)
	if _, body, ok := strings.Cut(msg, "\r\n\r\n"); ok {
		msg = strings.ReplaceAll(msg, "$LEN", strconv.Itoa(len(body)))
	}
	return []byte(msg)
}

// longRequest has long values everywhere (RFC 4475 §3.1.1.7): a display
// name, tags, a branch, a Call-ID, an unknown header of kilobytes, and 30
// Vias, so that the answer is larger than a datagram under the path MTU.
func longRequest(via string) string {
	long := strings.Repeat("very", 128)
	var vias strings.Builder
	for i := range 30 {
		vias.WriteString("Via: SIP/2.0/TCP host" + strconv.Itoa(i) + ".example.net;branch=z9hG4bK" + long[:40] + "\n")
	}
	return "OPTIONS sip:example.com SIP/2.0\n" +
		"Via: SIP/2.0/UDP $VIA;branch=z9hG4bK-longreq" + long + "\n" + vias.String() +
		"To: \"I have a user name of " + long + " proportion\" <sip:example.com>\n" +
		"From: sip:caller@example.net;tag=" + long + "\n" +
		"Call-ID: longreq." + long + "@example.net\n" +
		"CSeq: 1 OPTIONS\nMax-Forwards: 70\n" +
		"X-Unknown-" + long[:64] + ": " + long + long + long + "\n" +
		"Content-Length: 0\n\n"
}

// TestTorture sends each message of RFC 4475 as one datagram and checks
// the answer, then that the server still answers an OPTIONS.
func TestTorture(t *testing.T) {
	open := newStack(t, nil)
	challenging := newStack(t, func(c *Config, _ *presence.Config) {
		c.Auth = AuthConfig{Enabled: true, Digest: digestauth.Config{Realm: "example.com"},
			Users: []User{{Name: "alice", Password: "alice-pw"}}}
	})
	for _, tc := range tortureCases {
		t.Run(tc.name, func(t *testing.T) {
			st := open
			if tc.auth {
				st = challenging
			}
			c, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			dst, _ := net.ResolveUDPAddr("udp", st.srv.Addr("udp"))
			msg := tortureMessage(t, tc.name, c.LocalAddr().String())
			c.WriteTo(msg, dst)
			probe := "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + c.LocalAddr().String() +
				";branch=z9hG4bK-probe\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:example.com>\r\n" +
				"Call-ID: probe-" + tc.name + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
			got := 0
			if tc.answers[0] != 0 {
				got = readStatus(t, c, "")
			} else {
				c.WriteTo([]byte(probe), dst) // the first answer must be the probe's
			}
			if !contains(tc.answers, got) {
				t.Fatalf("%s: answer %d, want one of %v", tc.name, got, tc.answers)
			}
			if tc.answers[0] != 0 {
				c.WriteTo([]byte(probe), dst)
			}
			if status := readStatus(t, c, "probe-"+tc.name); status != 200 {
				t.Fatalf("the OPTIONS after %s: %d", tc.name, status)
			}
		})
	}
}

// readStatus returns the status code of the next datagram c receives
// (whose Call-ID holds callID, unless empty).
func readStatus(t *testing.T, c net.PacketConn, callID string) int {
	t.Helper()
	buf := make([]byte, 65536)
	for {
		c.SetReadDeadline(time.Now().Add(siptest.Wait))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer (call %q): %v", callID, err)
		}
		if callID != "" && !bytes.Contains(buf[:n], []byte(callID)) {
			t.Fatalf("answer to another request first: %q", buf[:min(n, 200)])
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "SIP/2.0" {
			code, _ := strconv.Atoi(f[1])
			t.Logf("answer: %s", line)
			return code
		}
		t.Fatalf("not a response: %q", line)
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// FuzzInspect reads anything as one message: no panic; what passes is
// never more than a branch longer, and reading it again passes it as it
// is; a refusal's answer is one bounded message with the refusal's status
// (the headers it copies may be as broken as the request's).
func FuzzInspect(f *testing.F) {
	for _, tc := range tortureCases {
		f.Add(tortureMessage(f, tc.name, "127.0.0.1:5070"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := append([]byte(nil), data...)
		msg, v := inspect(in)
		switch {
		case v == passed:
			if len(msg) > len(data)+64 {
				t.Fatalf("grew from %d to %d bytes", len(data), len(msg))
			}
			again, v2 := inspect(append([]byte(nil), msg...))
			if v2 != passed || !bytes.Equal(again, msg) {
				t.Fatalf("not stable: %+v\n%q\n%q", v2, msg, again)
			}
		case v.code > 0:
			answer := refusalMessage(data, v, "fuzz")
			if answer == nil {
				break
			}
			status := "SIP/2.0 " + strconv.Itoa(v.code) + " "
			if !bytes.HasPrefix(answer, []byte(status)) || bytes.Index(answer, []byte("\r\n\r\n")) != len(answer)-4 ||
				len(answer) > maxRefusalBytes {
				t.Fatalf("refusal %q", answer)
			}
		}
	})
}

// BenchmarkInspect reads a phone's PUBLISH as every datagram is now read
// before sipgo parses it, and a folded one, which is laid out again.
func BenchmarkInspect(b *testing.B) {
	publish := []byte("PUBLISH sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-776asdhds;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\nTo: <sip:alice@example.com>\r\n" +
		"Call-ID: a84b4c76e66710@pc33.example.com\r\nCSeq: 314159 PUBLISH\r\nEvent: presence\r\nExpires: 3600\r\n" +
		"User-Agent: Yealink SIP-T46U 108.86.0.20\r\nContent-Type: application/pidf+xml\r\nContent-Length: 0\r\n\r\n")
	for _, c := range []struct {
		name string
		msg  []byte
	}{{"plain", publish}, {"folded", tortureMessage(b, "wsinv", "192.0.2.10:5060")}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, len(c.msg))
			for b.Loop() {
				copy(buf, c.msg)
				if _, v := inspect(buf); v != passed {
					b.Fatal(v)
				}
			}
		})
	}
}
