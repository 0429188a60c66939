package sip

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/testcert"
	"github.com/switchboard/switchboard/presence"
)

func TestTransport_PublishOverTLS(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.TLS, c.CertFile, c.KeyFile = "127.0.0.1:0", certFile, keyFile
	})
	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, _ := sipgo.NewClient(ua, sipgo.WithClientLogger(siptest.Quiet()))
	p := siptest.NewPeer(t)
	req := p.Request("PUBLISH", alice, "alice", st.srv.Addr("tls"), siptest.PIDF(alice, "t1", "open", ""),
		"Event: presence", "Content-Type: application/pidf+xml")
	req.SetTransport("TLS")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUBLISH over TLS: %v %v", res, err)
	}
}

// A browser softphone subscribes over WebSocket (RFC 7118); its NOTIFYs
// must come back over the same connection.
func TestTransport_SubscribeOverWebSocketGetsNotifyOnSameConnection(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) { c.WS = "127.0.0.1:0" })
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	notifies := make(chan *sipmsg.Request, 4)
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(siptest.Quiet()))
	srv.OnNotify(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
		notifies <- req
	})
	client, _ := sipgo.NewClient(ua, sipgo.WithClientLogger(siptest.Quiet()))
	p := siptest.NewPeer(t)
	req := p.Request("SUBSCRIBE", alice, "bob", st.srv.Addr("ws"), "", "Event: presence")
	req.Contact().Address.UriParams = sipmsg.HeaderParams{{K: "transport", V: "ws"}}
	req.SetTransport("WS")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("SUBSCRIBE over WS: %v %v", res, err)
	}
	select {
	case n := <-notifies:
		if n.Transport() != "WS" {
			t.Fatalf("NOTIFY came over %s", n.Transport())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NOTIFY over the WebSocket")
	}
}

// With sip.tls_client_ca, a client whose certificate the CA signed is
// served over TLS; one without a certificate, or with another CA's, is
// refused at the handshake.
func TestTransport_TLSClientCertificateFromTheConfiguredCA(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	trunks, stranger := testcert.NewCA(t, "trunks"), testcert.NewCA(t, "stranger")
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.TLS, c.CertFile, c.KeyFile, c.TLSClientCA = "127.0.0.1:0", certFile, keyFile, trunks.File
	})
	addr := st.srv.Addr("tls")
	ua, err := sipgo.NewUA(sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
		Certificates: []tls.Certificate{trunks.Client(t, "trunk.example.net")}}))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, _ := sipgo.NewClient(ua, sipgo.WithClientLogger(siptest.Quiet()))
	req := siptest.NewPeer(t).Request("OPTIONS", alice, "alice", addr, "")
	req.SetTransport("TLS")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := client.Do(ctx, req); err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS over TLS with the CA's client certificate: %v %v", res, err)
	}

	other := stranger.Client(t, "trunk.example.net")
	for name, get := range map[string]func(*tls.CertificateRequestInfo) (*tls.Certificate, error){
		"no client certificate": nil,
		// sent whatever CAs the server names (Certificates alone would not be)
		"another CA's certificate": func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other, nil },
	} {
		err := handshake(addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", GetClientCertificate: get})
		if err == nil || !strings.Contains(err.Error(), "remote error: tls:") {
			t.Errorf("%s: the server took the handshake (%v), want an alert", name, err)
		}
	}
}

// handshake completes a TLS handshake with addr and reads once: in TLS
// 1.3 the client's side of the handshake ends before the server has
// checked its certificate, and the server's refusal arrives as an alert.
func handshake(addr string, cfg *tls.Config) error {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}
