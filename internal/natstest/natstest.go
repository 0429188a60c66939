// Package natstest runs NATS JetStream servers on random loopback ports
// with their files in the test's directory, for the tests of the
// JetStream store and of switchboard nodes sharing it: one inside the
// test process (RunJetStream), or a cluster of servers in child
// processes, which can be killed for real and started again (RunCluster,
// cluster.go; tools/sbbench runs one too).
package natstest

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// RunJetStream starts a JetStream server with opts, shut down when the
// test ends, and returns its client URL (tls:// with the TLS option).
func RunJetStream(t testing.TB, opts ...Option) string {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	for _, opt := range opts {
		opt(o)
	}
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	if o.TLSConfig != nil {
		return "tls://" + srv.Addr().String()
	}
	return srv.ClientURL()
}

// Option changes a server's settings.
type Option func(*server.Options)

// TLS makes the server require TLS with cfg; with cfg.ClientAuth set to
// tls.RequireAndVerifyClientCert, a client certificate from cfg.ClientCAs.
func TLS(cfg *tls.Config) Option {
	return func(o *server.Options) {
		o.TLS, o.TLSConfig = true, cfg
		o.TLSVerify = cfg.ClientAuth == tls.RequireAndVerifyClientCert
	}
}
