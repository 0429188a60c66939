// Package natstest runs NATS JetStream servers on random loopback ports
// with their files in the test's directory, for the tests of the
// JetStream store and of switchboard nodes sharing it: one inside the
// test process (RunJetStream), or a cluster of servers in child
// processes, which can be killed for real and started again (RunCluster,
// cluster.go; tools/sbbench runs one too).
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// RunJetStream starts a JetStream server, shut down when the test ends,
// and returns its client URL.
func RunJetStream(t testing.TB) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv.ClientURL()
}
