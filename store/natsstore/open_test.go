package natsstore

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/natstest"
)

// A node that starts while one of three NATS servers is down cannot have
// buckets of three replicas placed: it waits (openPatience) rather than
// exit, and opens once the server is back.
func TestOpen_WaitsForAServerToPlaceThreeReplicas(t *testing.T) {
	c := natstest.RunCluster(t, 3)
	down := c.Servers[2]
	down.Kill()
	opened := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		s, err := Open(ctx, Config{URLs: []string{c.Servers[0].URL, c.Servers[1].URL}, Replicas: 3, Node: "a"},
			MinTakeover, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil {
			s.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("Open returned with a server short of three replicas: %v", err)
	case <-time.After(2 * time.Second): // long enough to have tried, and been refused, a few times
	}
	if err := down.Start(); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("Open once the server is back: %v", err)
	}
}
