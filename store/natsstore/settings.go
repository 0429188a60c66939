package natsstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Secret returns the cluster's secret called name, size random bytes
// made by whichever node asked first (the first create wins, the others
// read it), so that every node signs and checks with the same one: a
// visitor's cookie set by one node is good on all.
func (s *Store) Secret(ctx context.Context, name string, size int) (_ []byte, err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	key := encode(name)
	fresh := make([]byte, size)
	rand.Read(fresh)
	_, err = s.recs.settings.Create(ctx, key, fresh)
	if err == nil {
		return fresh, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	for {
		e, err := s.recs.settings.Get(ctx, key)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) { // a direct get from a follower may lag the create
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("secret %s: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
