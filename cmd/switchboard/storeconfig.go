package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
	"github.com/switchboard/switchboard/store/natsstore"
)

// StoreConfig is the store section: the bbolt file, which every process
// opens, and where presence state lives.
type StoreConfig struct {
	store.Config `yaml:",inline"`
	// Driver keeps presence publications and subscriptions in the bbolt
	// file ("bbolt") or in NATS JetStream ("nats"), shared by every node
	// pointed at the same servers: a PUBLISH on one reaches the watchers
	// of all. Everything else (bindings, ACD state, callbacks, settings)
	// stays in the bbolt file either way, for now.
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
	// without NOTIFYs before a surviving node takes them over.
	Takeover time.Duration `yaml:"takeover"`
}

// Validate names the first bad field under prefix.
func (c ClusterConfig) Validate(prefix string) error {
	if c.Takeover < natsstore.MinTakeover || c.Takeover > 10*time.Minute {
		return fmt.Errorf("%s.takeover: %s must lie between %s and 10m", prefix, c.Takeover, natsstore.MinTakeover)
	}
	return nil
}

// presenceStore is where presence state lives: db itself, or JetStream
// (then nats is set; closing the store is the caller's).
type presenceStore struct {
	presence.Store
	nats  *natsstore.Store
	close func() error
}

// openPresenceStore opens the configured presence store.
func openPresenceStore(ctx context.Context, cfg StoreConfig, cluster ClusterConfig, db *store.DB, log *slog.Logger) (*presenceStore, error) {
	if cfg.Driver != "nats" {
		return &presenceStore{Store: db, close: func() error { return nil }}, nil
	}
	ns, err := natsstore.Open(ctx, cfg.NATS, cluster.Takeover, log.With("component", "natsstore"))
	if err != nil {
		return nil, fmt.Errorf("store.nats: %w", err)
	}
	return &presenceStore{Store: ns, nats: ns, close: ns.Close}, nil
}

// run follows the other nodes into svc until ctx ends: their
// publications (Watch), and the subscriptions of those that die
// (Takeover). It returns early with the reason this process must stop
// serving: its own lease lost, or the watch ended.
func (ps *presenceStore) run(ctx context.Context, svc *presence.Service) error {
	if ps.nats == nil {
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- ps.nats.Watch(ctx, svc.Apply) }()
	go func() { done <- ps.nats.Takeover(ctx, svc.Adopt) }()
	err := <-done
	cancel()
	return errors.Join(err, <-done)
}
