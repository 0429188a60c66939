package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/switchboard/switchboard/internal/siptest"
)

// acmeDomain is the name switchboard gets certificates for: the test's
// DNS server resolves it, and every other name, to 127.0.0.1.
const acmeDomain = "switchboard.test"

// TestACME_TLSALPNCertificateOnHTTPSAndSIPTLSRenewed: switchboard obtains
// a certificate from Pebble through TLS-ALPN-01 answered by its own HTTPS
// listener, keeps it in the bbolt store, serves it on HTTPS, SIP TLS and
// WSS (a client without SNI, as SIP phones are, included), and renews it
// without a restart: Pebble's certificates here live 8 seconds.
func TestACME_TLSALPNCertificateOnHTTPSAndSIPTLSRenewed(t *testing.T) {
	pb := newPebble(t, 8*time.Second)
	p := startSwitchboard(t, t.TempDir(), append(pb.sets(),
		"sip.tls=127.0.0.1:0", "sip.wss=127.0.0.1:0",
		"tls.acme.challenges=tls-alpn-01", "tls.acme.storage=store", "tls.acme.renew_check_interval=1s")...)
	pb.start(t, 0, portOf(t, p.HTTP)) // Pebble validates on switchboard's HTTPS port

	first := waitServed(t, p.HTTP, acmeDomain, pb.roots, nil)
	t.Logf("first certificate: serial %x, valid until %s", first.SerialNumber, first.NotAfter.Format(time.TimeOnly))

	if got := pb.validated(); len(got) == 0 || slices.ContainsFunc(got, func(c string) bool { return c != "tls-alpn-01" }) {
		t.Fatalf("challenges validated: %v, want tls-alpn-01 only", got)
	}

	// HTTPS: a Go client that trusts Pebble's root verifies the chain and the name.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pb.roots, ServerName: acmeDomain}}}
	res, err := client.Get("https://" + p.HTTP + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTPS /healthz: %d", res.StatusCode)
	}

	// SIP TLS: a sipgo client verifies the chain and the name.
	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pb.roots, ServerName: acmeDomain}))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	sipClient, _ := sipgo.NewClient(ua, sipgo.WithClientLogger(siptest.Quiet()))
	req := siptest.NewPeer(t).Request("OPTIONS", "sip:"+acmeDomain, "alice", p.TLS, "")
	req.SetTransport("TLS")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := sipClient.Do(ctx, req); err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS over TLS: %v %v", res, err)
	}
	// A phone that sends no SNI gets the first domain's certificate; so does WSS.
	waitServed(t, p.TLS, "", pb.roots, nil)
	waitServed(t, p.WSS, acmeDomain, pb.roots, nil)

	// Renewal: a new serial on HTTPS, then on SIP TLS, the same process.
	renewed := waitServed(t, p.HTTP, acmeDomain, pb.roots, first)
	t.Logf("renewed: serial %x", renewed.SerialNumber)
	waitServed(t, p.TLS, "", pb.roots, first)
}

// TestACME_HTTP01CertificateKeptInADirectory: HTTP-01 answered on
// tls.acme.http_addr, which redirects everything else to HTTPS; the
// certificate kept in a directory is served again after a restart,
// without a new order.
func TestACME_HTTP01CertificateKeptInADirectory(t *testing.T) {
	pb := newPebble(t, 0)
	dir, certs := t.TempDir(), t.TempDir()
	sets := append(pb.sets(), "tls.acme.challenges=http-01", "tls.acme.http_addr=127.0.0.1:0",
		"tls.acme.storage=dir:"+certs, "shutdown.grace=0s")
	p := startSwitchboard(t, dir, sets...)
	pb.start(t, portOf(t, p.ACMEHTTP), 0) // Pebble validates on the HTTP-01 listener

	first := waitServed(t, p.HTTP, acmeDomain, pb.roots, nil)
	if got := pb.validated(); !slices.Equal(got, []string{"http-01"}) {
		t.Fatalf("challenges validated: %v, want one http-01", got)
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get("http://" + p.ACMEHTTP + "/console?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := "https://127.0.0.1:" + strconv.Itoa(portOf(t, p.HTTP)) + "/console?x=1"; res.StatusCode != http.StatusPermanentRedirect ||
		res.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d to %q, want 308 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	if matches, _ := filepath.Glob(filepath.Join(certs, "certificates", "*", acmeDomain, acmeDomain+".crt")); len(matches) != 1 {
		t.Fatalf("certificate files in %s: %v", certs, matches)
	}

	p.stop()
	p = startSwitchboard(t, dir, sets...)
	again := waitServed(t, p.HTTP, acmeDomain, pb.roots, nil)
	if again.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("after a restart serial %x, want the stored %x", again.SerialNumber, first.SerialNumber)
	}
	if n := pb.issued(); n != 1 {
		t.Fatalf("Pebble issued %d certificates, want 1", n)
	}
}

// waitServed waits until addr serves a certificate for acmeDomain that
// chains to roots, other than previous when one is given, and returns
// it. sni is the name the client sends ("" for none, as SIP phones).
func waitServed(t *testing.T, addr, sni string, roots *x509.CertPool, previous *x509.Certificate) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var leaf *x509.Certificate
		if leaf, err = served(addr, sni, roots); err == nil {
			if previous == nil || leaf.SerialNumber.Cmp(previous.SerialNumber) != 0 {
				return leaf
			}
			err = fmt.Errorf("still serial %x", leaf.SerialNumber)
		}
		time.Sleep(100 * time.Millisecond) // nothing to await: certificates arrive from outside
	}
	t.Fatalf("%s (SNI %q): no new verified certificate within 60s: %v", addr, sni, err)
	return nil
}

// served is the leaf certificate addr serves to a client sending sni,
// verified against roots for acmeDomain.
func served(addr, sni string, roots *x509.CertPool) (*x509.Certificate, error) {
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true, // verified below, for acmeDomain whatever the SNI
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: acmeDomain, Roots: roots, Intermediates: inter})
			return err
		}}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// pebble is Let's Encrypt's test CA run in this process, on loopback. Its
// directory is up at once, but it answers only from start, once the
// switchboard under test has bound the ports to validate on: the
// process's first ACME requests wait for it.
type pebble struct {
	srv      *httptest.Server
	caFile   string         // the directory's HTTPS certificate, for tls.acme.directory_ca
	roots    *x509.CertPool // Pebble's issuing root: what clients trust
	dns      string         // resolves every name to 127.0.0.1, over TCP as Pebble asks
	validity time.Duration
	ready    chan struct{}
	handler  http.Handler
	db       *db.MemoryStore
	logs     lockedBuffer
}

func newPebble(t *testing.T, validity time.Duration) *pebble {
	pb := &pebble{roots: x509.NewCertPool(), validity: validity, ready: make(chan struct{}), dns: startDNS(t)}
	pb.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-pb.ready:
			pb.handler.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	pb.srv.StartTLS()
	t.Cleanup(pb.srv.Close)
	pb.caFile = filepath.Join(t.TempDir(), "directory-ca.pem")
	if err := os.WriteFile(pb.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pb.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble:\n%s", pb.logs.String())
		}
	})
	return pb
}

// sets point switchboard's ACME at this Pebble.
func (pb *pebble) sets() []string {
	return []string{"tls.acme.enabled=true", "tls.acme.domains=" + acmeDomain, "tls.acme.email=ops@" + acmeDomain,
		"tls.acme.directory=" + pb.srv.URL + wfe.DirectoryPath, "tls.acme.directory_ca=" + pb.caFile}
}

// start builds the CA, validating HTTP-01 on httpPort and TLS-ALPN-01 on
// tlsPort of 127.0.0.1, and lets the directory answer.
func (pb *pebble) start(t *testing.T, httpPort, tlsPort int) {
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once, not after up to 5 s
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no random badNonce retries
	logger := log.New(&pb.logs, "", log.Lmicroseconds)
	pb.db = db.NewMemoryStore()
	authority := ca.New(logger, pb.db, "", "ecdsa", 0, 1,
		map[string]ca.Profile{"default": {ValidityPeriod: uint64(pb.validity / time.Second)}})
	validator := va.New(logger, httpPort, tlsPort, false, pb.dns, pb.db)
	front := wfe.New(logger, pb.db, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	pb.roots.AddCert(authority.GetRootCert(0).Cert)
	pb.handler = front.Handler()
	close(pb.ready)
}

// validated lists the types of the challenges Pebble validated, in order.
func (pb *pebble) validated() []string {
	var types []string
	for _, line := range strings.Split(pb.logs.String(), "\n") {
		if _, id, ok := strings.Cut(line, "set VALID by completed challenge "); ok {
			if ch := pb.db.GetChallengeByID(strings.TrimSpace(id)); ch != nil {
				ch.RLock()
				types = append(types, ch.Type)
				ch.RUnlock()
			}
		}
	}
	return types
}

// issued counts the certificates Pebble issued.
func (pb *pebble) issued() int {
	return strings.Count(pb.logs.String(), "Issued certificate serial")
}

// startDNS serves A 127.0.0.1 for every name over TCP on loopback and
// returns its address.
func startDNS(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// lockedBuffer collects Pebble's log, written from its goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
