package natsstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseHeld is returned by Acquire when another holder has the lease.
var ErrLeaseHeld = errors.New("held by another node")

// ErrLeaseLost is returned by Lease.Hold when the lease lapsed or another
// holder has it now: its holder must stop acting on it.
var ErrLeaseLost = errors.New("lease lost")

// Lease is a key of the nodes bucket that exists while its holder lives:
// written with a per-key TTL, renewed well before it lapses, removed by
// the server when its holder dies (or is cut off for the TTL). Every
// renewal names the revision it replaces, so that a holder whose lease
// lapsed, and was perhaps taken by another, learns it at its next renewal
// instead of overwriting the other's.
type Lease struct {
	s     *Store
	key   string
	value []byte
	ttl   time.Duration

	mu      sync.Mutex
	rev     uint64    // the revision of the last write
	renewed time.Time // when it was acknowledged
}

// Acquire creates the lease key with value, lapsing after ttl (whole
// seconds, at least one) unless renewed: ErrLeaseHeld when it exists.
func (s *Store) Acquire(ctx context.Context, key string, value []byte, ttl time.Duration) (*Lease, error) {
	ttl = max(time.Second, ttl.Truncate(time.Second))
	rev, err := s.nodes.Create(ctx, key, value, jetstream.KeyTTL(ttl))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("lease %s: %w", key, ErrLeaseHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", key, err)
	}
	return &Lease{s: s, key: key, value: value, ttl: ttl, rev: rev, renewed: time.Now()}, nil
}

// TTL is how long the lease lives unless renewed.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Hold renews the lease three times per TTL until ctx ends, then releases
// it, and returns nil; or returns ErrLeaseLost as soon as the lease
// lapsed (no renewal acknowledged for a TTL: the server has removed it,
// or will before the holder could tell) or another has it.
func (l *Lease) Hold(ctx context.Context) error {
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			release, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.ttl)
			defer cancel()
			return l.release(release)
		case <-tick.C:
		}
		err := l.renew(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrLeaseLost):
			return err
		case ctx.Err() != nil:
		default:
			l.mu.Lock()
			lapsed := time.Since(l.renewed) >= l.ttl
			l.mu.Unlock()
			if lapsed {
				return fmt.Errorf("%w: %s: no renewal for %s: %v", ErrLeaseLost, l.key, l.ttl, err)
			}
			l.s.log.Warn("lease renewal failed", "lease", l.key, "error", err)
		}
	}
}

// renew rewrites the lease with a fresh TTL, provided it is still the
// revision this holder last wrote. KeyValue.Update takes no TTL: this is
// the publish it makes, with one.
func (l *Lease) renew(ctx context.Context) error {
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	ack, err := l.s.js.Publish(ctx, "$KV."+bucketNodes+"."+l.key, l.value,
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(l.ttl))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) { // R1, R3
		return fmt.Errorf("%w: %s", ErrLeaseLost, l.key)
	}
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.rev, l.renewed = ack.Sequence, time.Now()
	l.mu.Unlock()
	return nil
}

// release removes the lease at once, provided it is still this holder's,
// so that whoever waits for it need not wait for the TTL.
func (l *Lease) release(ctx context.Context) error {
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	err := l.s.nodes.Purge(ctx, l.key, jetstream.LastRevision(rev), jetstream.PurgeTTL(markerTTL))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return nil
}
