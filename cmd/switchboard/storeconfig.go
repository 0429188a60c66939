package main

import (
	"context"
	"fmt"
	"log/slog"

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

// presenceStore is where presence state lives: db itself, or JetStream
// (then watch follows the other nodes' publications into the service,
// until ctx ends, and closing the store is the caller's).
type presenceStore struct {
	presence.Store
	watch func(ctx context.Context, svc *presence.Service) error
	close func() error
}

// openPresenceStore opens the configured presence store.
func openPresenceStore(ctx context.Context, cfg StoreConfig, db *store.DB, log *slog.Logger) (*presenceStore, error) {
	if cfg.Driver != "nats" {
		return &presenceStore{Store: db, close: func() error { return nil }}, nil
	}
	ns, err := natsstore.Open(ctx, cfg.NATS, log.With("component", "natsstore"))
	if err != nil {
		return nil, fmt.Errorf("store.nats: %w", err)
	}
	return &presenceStore{Store: ns, close: ns.Close,
		watch: func(ctx context.Context, svc *presence.Service) error { return ns.Watch(ctx, svc.Apply) }}, nil
}
