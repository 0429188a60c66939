package natsstore

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/store"
)

var _ location.Store = (*Store)(nil)

// PutBindings implements location.Store: the record of aor replaced
// whole, or purged when none is left, acknowledged by the stream.
func (s *Store) PutBindings(ctx context.Context, aor string, bs []location.Binding) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	key := encode(aor)
	if len(bs) == 0 {
		return purge(ctx, s.recs.bindings, key)
	}
	rec, err := store.EncodeBindings(bs)
	if err != nil {
		return err
	}
	if _, err := s.recs.bindings.Put(ctx, key, rec); err != nil {
		return fmt.Errorf("put bindings: %w", err)
	}
	return nil
}

// LoadBindings implements location.Store: every node's bindings. It
// notes where the stream stood, for WatchBindings to resume from there.
func (s *Store) LoadBindings(ctx context.Context, fn func(location.Binding) error) error {
	var err error
	if s.recs.bindingsLoadedAt, err = lastSeq(ctx, s.recs.bindings); err != nil {
		return fmt.Errorf("load bindings: %w", err)
	}
	return each(ctx, s.recs.bindings, ">", store.DecodeBindings, func(bs []location.Binding) error {
		for _, b := range bs {
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// WatchBindings hands apply (location.Service.Apply) every change made
// to the bindings from where LoadBindings read them, in the stream's
// order, until ctx ends: the new bindings of an address-of-record, none
// when they were removed. This process's own writes come back too, and
// are applied again (Apply is idempotent): so that, when two nodes write
// one address-of-record at once, every node ends with the one the stream
// took last.
func (s *Store) WatchBindings(ctx context.Context, apply func(aor string, bs []location.Binding)) error {
	return follow(ctx, s.recs.bindings, s.recs.bindingsLoadedAt+1, func(e jetstream.KeyValueEntry) {
		aor, err := decode(e.Key())
		if err != nil {
			s.log.Warn("skipping a bindings key", "key", e.Key(), "error", err)
			return
		}
		var bs []location.Binding
		if e.Operation() == jetstream.KeyValuePut {
			if bs, err = store.DecodeBindings(e.Value()); err != nil {
				s.log.Warn("skipping a bindings record", "aor", aor, "error", err)
				return
			}
		}
		apply(aor, bs)
	})
}
