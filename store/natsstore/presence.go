package natsstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

var (
	_ presence.Store   = (*Store)(nil)
	_ presence.Expirer = (*Store)(nil)
)

// publicationKey is "<presentity>.<etag>", both encoded: a presentity's
// publications are the keys "<presentity>.*".
func publicationKey(presentity, etag string) string {
	return encode(presentity) + "." + encode(etag)
}

// parsePublicationKey is publicationKey's inverse.
func parsePublicationKey(key string) (presentity, etag string, err error) {
	p, e, ok := strings.Cut(key, ".")
	if !ok {
		return "", "", fmt.Errorf("%w: %q", errBadKey, key)
	}
	if presentity, err = decode(p); err == nil {
		etag, err = decode(e)
	}
	return presentity, etag, err
}

// subscriptionKey is "<owner>.<id>", both encoded: the subscriptions of
// one process are "<owner>.*".
func (s *Store) subscriptionKey(id string) string { return s.owner + "." + encode(id) }

// ttl is what is left of a publication's lifetime, in whole seconds (the
// server's unit), at least one.
func ttl(expires time.Time) time.Duration {
	return max(time.Second, time.Until(expires).Truncate(time.Second)+time.Second)
}

// ExpiresPublications implements presence.Expirer: each publication is
// written with a per-key TTL, and the server removes it when it lapses,
// whichever node wrote it and whether or not that node still runs.
func (s *Store) ExpiresPublications() bool { return true }

// PutPublication implements presence.Store. It returns once the stream
// acknowledged the write (with replicas, a quorum of servers has it).
// The new publication is written first, then the replaced one purged:
// two writes, not one transaction; should the second fail, the replaced
// publication lingers until its own expiry, older than the new one.
func (s *Store) PutPublication(ctx context.Context, p presence.Publication, replaces string) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	key := publicationKey(p.Presentity, p.ETag)
	s.echoes.expect(opPut, key)
	if _, err := s.pubs.Create(ctx, key, store.EncodePublication(p), jetstream.KeyTTL(ttl(p.Expires))); err != nil {
		s.echoes.forget(opPut, key)
		return fmt.Errorf("put publication: %w", err)
	}
	if replaces == "" {
		return nil
	}
	return s.deletePublication(ctx, p.Presentity, replaces)
}

// DeletePublication implements presence.Store: a purge, whose marker
// itself lapses after markerTTL.
func (s *Store) DeletePublication(ctx context.Context, presentity, etag string) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	return s.deletePublication(ctx, presentity, etag)
}

func (s *Store) deletePublication(ctx context.Context, presentity, etag string) error {
	key := publicationKey(presentity, etag)
	s.echoes.expect(opDel, key)
	if err := purge(ctx, s.pubs, key); err != nil {
		s.echoes.forget(opDel, key)
		return err
	}
	return nil
}

// purge removes key and its history, leaving a marker that lapses.
func purge(ctx context.Context, kv jetstream.KeyValue, key string) error {
	if err := kv.Purge(ctx, key, jetstream.PurgeTTL(markerTTL)); err != nil {
		return fmt.Errorf("purge %s: %w", kv.Bucket(), err)
	}
	return nil
}

// PutSubscription implements presence.Store, under this process's name.
func (s *Store) PutSubscription(ctx context.Context, sub presence.Subscription) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	if _, err := s.subs.Put(ctx, s.subscriptionKey(sub.ID), store.EncodeSubscription(sub)); err != nil {
		return fmt.Errorf("put subscription: %w", err)
	}
	return nil
}

// DeleteSubscription implements presence.Store.
func (s *Store) DeleteSubscription(ctx context.Context, id string) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	return purge(ctx, s.subs, s.subscriptionKey(id))
}

// LoadPublications implements presence.Store: every node's publications.
// It notes where the stream stood, for Watch to resume from there.
func (s *Store) LoadPublications(ctx context.Context, fn func(presence.Publication) error) error {
	st, err := s.pubs.Status(ctx)
	if err != nil {
		return fmt.Errorf("load publications: %w", err)
	}
	s.loadedAt = st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq
	return each(ctx, s.pubs, ">", store.DecodePublication, fn)
}

// LoadSubscriptions implements presence.Store: this process's
// subscriptions only, none when it starts; those of the processes before
// it, on this host or another, are taken over once their leases lapse
// (Takeover).
func (s *Store) LoadSubscriptions(ctx context.Context, fn func(presence.Subscription) error) error {
	return each(ctx, s.subs, s.owner+".*", store.DecodeSubscription, fn)
}

// Counts implements presence.Store with the buckets' message counts: all
// nodes' subscriptions and the removal markers are counted too, which is
// good enough for sizing indexes.
func (s *Store) Counts(ctx context.Context) (publications, subscriptions int, err error) {
	ps, err := s.pubs.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	ss, err := s.subs.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	return int(ps.Values()), int(ss.Values()), nil
}

// each decodes the current value of every key matching filter and calls
// fn, through one ordered consumer rather than a read per key.
func each[T any](ctx context.Context, kv jetstream.KeyValue, filter string, decode func([]byte) (T, error), fn func(T) error) error {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("list %s: %w", kv.Bucket(), err)
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("list %s: the watch ended early", kv.Bucket())
			}
			if e == nil { // every value so far delivered
				return nil
			}
			v, err := decode(e.Value())
			if err != nil {
				return fmt.Errorf("bucket %s key %q: %w", kv.Bucket(), e.Key(), err)
			}
			if err := fn(v); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
