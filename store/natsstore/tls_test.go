package natsstore

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/internal/testcert"
)

// Against a server that requires TLS and a client certificate, a store
// configured with ca_file, cert_file and key_file joins and writes; one
// without the client certificate is refused.
func TestTLS_ClientCertificateFromTheSettings(t *testing.T) {
	serverCert, serverKey, _ := testcert.Write(t)
	pair, err := tls.LoadX509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clients := testcert.NewCA(t, "nats clients")
	url := natstest.RunJetStream(t, natstest.TLS(&tls.Config{Certificates: []tls.Certificate{pair},
		ClientCAs: clients.Pool(), ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}))
	certFile, keyFile := clients.ClientFiles(t, "node-a")
	cfg := Config{URLs: []string{url}, Replicas: 1, Node: "a", CAFile: serverCert, CertFile: certFile, KeyFile: keyFile}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	s, err := Open(ctx, cfg, MinTakeover, log)
	if err != nil {
		t.Fatalf("Open with the client certificate: %v", err)
	}
	defer s.Close()
	if _, err := s.Secret(ctx, "probe", 8); err != nil {
		t.Fatalf("a write over TLS: %v", err)
	}

	cfg.CertFile, cfg.KeyFile = "", ""
	if s, err := Open(ctx, cfg, MinTakeover, log); err == nil {
		s.Close()
		t.Fatal("Open without a client certificate succeeded")
	}
}
