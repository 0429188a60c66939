package digestauth

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// reparse serialises msg and parses it back, as if sent over the wire.
func reparse(t *testing.T, msg sip.Message) sip.Message {
	t.Helper()
	m, err := sip.ParseMessage([]byte(msg.String()))
	if err != nil {
		t.Fatalf("ParseMessage: %v\n%s", err, msg)
	}
	return m
}

// sipgoDigestAuthApply replicates sipgo v1.7.3 client.go digestAuthApply,
// with the options built as in Client.TransactionDigestAuth.
func sipgoDigestAuthApply(t *testing.T, req *sip.Request, res *sip.Response, user, pass string) {
	t.Helper()
	opts := digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.Addr(),
		Username: user,
		Password: pass,
	}
	wwwAuth := res.GetHeader("WWW-Authenticate")
	if wwwAuth == nil {
		t.Fatal("No WWW-Authenticate header present")
	}
	chal, err := digest.ParseChallenge(wwwAuth.Value())
	if err != nil {
		t.Fatalf("parse challenge %q: %v", wwwAuth.Value(), err)
	}
	chal.Algorithm = sip.ASCIIToUpper(chal.Algorithm)
	cred, err := digest.Digest(chal, opts)
	if err != nil {
		t.Fatalf("build digest: %v", err)
	}
	req.RemoveHeader("Authorization")
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
}

const sipgoRegister = "REGISTER sip:switchboard.test SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:alice@switchboard.test>;tag=1928301774\r\n" +
	"To: <sip:alice@switchboard.test>\r\n" +
	"Call-ID: a84b4c76e66710@192.0.2.10\r\n" +
	"CSeq: 1 REGISTER\r\n" +
	"Contact: <sip:alice@192.0.2.10:5060>\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestSipgoClientInterop(t *testing.T) {
	for _, algs := range [][]string{nil, {"MD5"}, {"SHA-256"}} {
		a := newAuth(t, Config{Algorithms: algs})
		req := mustParse(t, sipgoRegister).(*sip.Request)

		// Server: no credentials yet -> 401 with the challenges.
		if _, err := a.Verify(req.Method.String(), headerValue(req, "Authorization")); err != ErrNoCredentials {
			t.Fatalf("first request: err = %v", err)
		}
		res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
		for _, c := range a.Challenges("alice", false) {
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", c))
		}
		res = reparse(t, res).(*sip.Response)

		// Client: sipgo answers the first challenge.
		sipgoDigestAuthApply(t, req, res, "alice", "wonderland")
		req = reparse(t, req).(*sip.Request)

		// Server: verify.
		auth := headerValue(req, "Authorization")
		if !strings.Contains(auth, "algorithm="+a.algs[0]+",") {
			t.Errorf("sipgo did not answer the first challenge (%s): %q", a.algs[0], auth)
		}
		user, err := a.Verify(req.Method.String(), auth)
		if err != nil || user != "alice" {
			t.Errorf("%v: Verify = %q, %v\n%s", algs, user, err, req)
		}
	}
}

func mustParse(t *testing.T, s string) sip.Message {
	t.Helper()
	m, err := sip.ParseMessage([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func headerValue(m *sip.Request, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
