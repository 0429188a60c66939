package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A stream of three replicas keeps what it acknowledged when its leader
// is killed, takes writes again under a new leader, and the killed
// server, started again on its files, rejoins.
func TestCluster_KillTheStreamLeaderAndRestartIt(t *testing.T) {
	c := RunCluster(t, 3)
	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s", []byte("before")); err != nil {
		t.Fatal(err)
	}
	leader := c.StreamLeader(t, ctx, js, st.CachedInfo().Config.Name)
	leader.Kill()

	// Until a new leader is elected, a publication may time out.
	for i := 0; ; i++ {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.Publish(pctx, "s", []byte("after"))
		cancel()
		if err == nil {
			break
		}
		if i == 30 || ctx.Err() != nil {
			t.Fatalf("no publication after the leader was killed: %v", err)
		}
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 || info.Cluster.Leader == "" {
		t.Fatalf("after the restart: %d messages, leader %q; want 2 and one", info.State.Msgs, info.Cluster.Leader)
	}
}
