package store

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/presence"
)

var (
	bucketPublications  = []byte("publications")
	bucketSubscriptions = []byte("subscriptions")
)

var _ presence.Store = (*DB)(nil)

// publicationRecord is a stored presence.Publication.
type publicationRecord struct {
	V           int       `json:"v"`
	Presentity  string    `json:"presentity"`
	Event       string    `json:"event,omitempty"` // absent: presence
	ETag        string    `json:"etag"`
	Expires     time.Time `json:"expires"`
	ContentType string    `json:"content_type"`
	Body        []byte    `json:"body"`
	Seq         uint64    `json:"seq"`
}

// subscriptionRecord is a stored presence.Subscription.
type subscriptionRecord struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	Presentity  string    `json:"presentity"`
	Event       string    `json:"event,omitempty"` // absent: presence
	Watcher     string    `json:"watcher"`
	Expires     time.Time `json:"expires"`
	SeqReserved uint64    `json:"seq_reserved"`
	Dialog      []byte    `json:"dialog"`
}

func publicationKey(presentity, etag string) []byte {
	return []byte(presentity + "\x00" + etag)
}

// PutPublication implements presence.Store.
func (db *DB) PutPublication(ctx context.Context, p presence.Publication, replaces string) error {
	rec := publicationRecord{V: 1, Presentity: p.Presentity, Event: p.Event, ETag: p.ETag, Expires: p.Expires,
		ContentType: p.ContentType, Body: p.Body, Seq: p.Seq}
	return db.batch(ctx, func(tx *bolt.Tx) error {
		if replaces != "" {
			if err := tx.Bucket(bucketPublications).Delete(publicationKey(p.Presentity, replaces)); err != nil {
				return err
			}
		}
		return put(tx, bucketPublications, publicationKey(p.Presentity, p.ETag), rec)
	})
}

// DeletePublication implements presence.Store.
func (db *DB) DeletePublication(ctx context.Context, presentity, etag string) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPublications).Delete(publicationKey(presentity, etag))
	})
}

// PutSubscription implements presence.Store.
func (db *DB) PutSubscription(ctx context.Context, s presence.Subscription) error {
	rec := subscriptionRecord{V: 1, ID: s.ID, Presentity: s.Presentity, Event: s.Event, Watcher: s.Watcher,
		Expires: s.Expires, SeqReserved: s.SeqReserved, Dialog: s.Dialog}
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return put(tx, bucketSubscriptions, []byte(s.ID), rec)
	})
}

// DeleteSubscription implements presence.Store.
func (db *DB) DeleteSubscription(ctx context.Context, id string) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSubscriptions).Delete([]byte(id))
	})
}

// LoadPublications implements presence.Store.
func (db *DB) LoadPublications(_ context.Context, fn func(presence.Publication) error) error {
	return each(db, bucketPublications, func(r publicationRecord) error {
		return fn(presence.Publication{Presentity: r.Presentity, Event: r.Event, ETag: r.ETag, Expires: r.Expires,
			ContentType: r.ContentType, Body: r.Body, Seq: r.Seq})
	})
}

// LoadSubscriptions implements presence.Store.
func (db *DB) LoadSubscriptions(_ context.Context, fn func(presence.Subscription) error) error {
	return each(db, bucketSubscriptions, func(r subscriptionRecord) error {
		return fn(presence.Subscription{ID: r.ID, Presentity: r.Presentity, Event: r.Event, Watcher: r.Watcher,
			Expires: r.Expires, SeqReserved: r.SeqReserved, Dialog: r.Dialog})
	})
}
