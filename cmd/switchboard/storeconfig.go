package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
	"github.com/switchboard/switchboard/store/natsstore"
)

// StoreConfig is the store section: the bbolt file, which every process
// opens, and where the state nodes share lives.
type StoreConfig struct {
	store.Config `yaml:",inline"`
	// Driver keeps presence publications and subscriptions, registrar
	// bindings, agent states, callbacks and generated secrets in the bbolt
	// file ("bbolt") or in NATS JetStream ("nats"), shared by every node
	// pointed at the same servers: a PUBLISH on one reaches the watchers
	// of all, a REGISTER on one reaches the ACD, which runs on one leader
	// node at a time. ACME certificates stay in the bbolt file either way.
	Driver string `yaml:"driver"`
	// NATS is the JetStream connection, for driver nats.
	NATS natsstore.Config `yaml:"nats"`
}

// Validate names the first bad field under prefix.
func (c StoreConfig) Validate(prefix string) error {
	if err := c.Config.Validate(prefix); err != nil {
		return err
	}
	switch c.Driver {
	case "bbolt":
		return nil
	case "nats":
		return c.NATS.Validate(prefix + ".nats")
	}
	return fmt.Errorf("%s.driver: %q is not bbolt or nats", prefix, c.Driver)
}

// ClusterConfig is the cluster section: how nodes sharing NATS stand in
// for one another.
type ClusterConfig struct {
	// Takeover bounds how long the subscriptions of a node that died go
	// without NOTIFYs before a surviving node takes them over, and how
	// long the cluster goes without an ACD once its leader died.
	Takeover time.Duration `yaml:"takeover"`
}

// Validate names the first bad field under prefix.
func (c ClusterConfig) Validate(prefix string) error {
	if c.Takeover < natsstore.MinTakeover || c.Takeover > 10*time.Minute {
		return fmt.Errorf("%s.takeover: %s must lie between %s and 10m", prefix, c.Takeover, natsstore.MinTakeover)
	}
	return nil
}

// sharedStore is where the state nodes share lives (presence, the
// registrar's bindings, the ACD's agent states and callbacks, generated
// secrets): db itself, or JetStream (then nats is set; closing the store
// is the caller's).
type sharedStore struct {
	presence.Store
	bindings  location.Store
	agents    acd.Store
	callbacks calls.CallbackStore
	secrets   interface {
		Secret(ctx context.Context, name string, size int) ([]byte, error)
	}
	nats  *natsstore.Store
	close func() error
}

// openSharedStore opens the configured store.
func openSharedStore(ctx context.Context, cfg StoreConfig, cluster ClusterConfig, db *store.DB, log *slog.Logger) (*sharedStore, error) {
	if cfg.Driver != "nats" {
		return &sharedStore{Store: db, bindings: db, agents: db, callbacks: db, secrets: db, close: func() error { return nil }}, nil
	}
	nc := cfg.NATS
	nc.Retention = cfg.Retention
	ns, err := natsstore.Open(ctx, nc, cluster.Takeover, log.With("component", "natsstore"))
	if err != nil {
		return nil, fmt.Errorf("store.nats: %w", err)
	}
	return &sharedStore{Store: ns, bindings: ns, agents: ns, callbacks: ns, secrets: ns, nats: ns, close: ns.Close}, nil
}

// run follows the other nodes into svc and loc until ctx ends: their
// publications (Watch) and bindings (WatchBindings), and the
// subscriptions of those that die (Takeover). It returns early with the
// reason this process must stop serving: its own lease lost, or a watch
// ended.
func (ps *sharedStore) run(ctx context.Context, svc *presence.Service, loc *location.Service) error {
	if ps.nats == nil {
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 3)
	go func() { done <- ps.nats.Watch(ctx, svc.Apply) }()
	go func() { done <- ps.nats.WatchBindings(ctx, loc.Apply) }()
	go func() { done <- ps.nats.Takeover(ctx, svc.Adopt) }()
	err := <-done
	cancel()
	return errors.Join(err, <-done, <-done)
}
