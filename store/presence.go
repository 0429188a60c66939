package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/presence"
)

var (
	bucketPublications  = []byte("publications")
	bucketSubscriptions = []byte("subscriptions")
)

var _ presence.Store = (*DB)(nil)

// publicationRecord is a presence.Publication as earlier releases stored
// it, in JSON; records are now binary (EncodePublication).
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

// subscriptionRecord is a presence.Subscription as earlier releases
// stored it, in JSON; records are now binary (EncodeSubscription).
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

// EncodePublication is p as a binary record (record.go); natsstore
// writes the same records.
func EncodePublication(p presence.Publication) []byte {
	w := newRecordWriter(len(p.Presentity) + len(p.Event) + len(p.ETag) + len(p.ContentType) + len(p.Body))
	w.str(p.Presentity)
	w.str(p.Event)
	w.str(p.ETag)
	w.time(p.Expires)
	w.str(p.ContentType)
	w.bytes(p.Body)
	w.uint(p.Seq)
	return w.b
}

// DecodePublication reads a record EncodePublication wrote, or the JSON of
// an earlier release.
func DecodePublication(v []byte) (presence.Publication, error) {
	if len(v) > 0 && v[0] == '{' {
		var r publicationRecord
		err := json.Unmarshal(v, &r)
		return presence.Publication{Presentity: r.Presentity, Event: r.Event, ETag: r.ETag, Expires: r.Expires,
			ContentType: r.ContentType, Body: r.Body, Seq: r.Seq}, err
	}
	r, err := binaryRecord(v)
	if err != nil {
		return presence.Publication{}, err
	}
	p := presence.Publication{Presentity: r.str(), Event: r.str(), ETag: r.str(), Expires: r.time(),
		ContentType: r.str(), Body: r.bytes(), Seq: r.uint()}
	return p, r.done()
}

// EncodeSubscription is s as a binary record (record.go).
func EncodeSubscription(s presence.Subscription) []byte {
	w := newRecordWriter(len(s.ID) + len(s.Presentity) + len(s.Event) + len(s.Watcher) + len(s.Dialog))
	w.str(s.ID)
	w.str(s.Presentity)
	w.str(s.Event)
	w.str(s.Watcher)
	w.time(s.Expires)
	w.uint(s.SeqReserved)
	w.bytes(s.Dialog)
	return w.b
}

// DecodeSubscription reads a record EncodeSubscription wrote, or the JSON
// of an earlier release.
func DecodeSubscription(v []byte) (presence.Subscription, error) {
	if len(v) > 0 && v[0] == '{' {
		var r subscriptionRecord
		err := json.Unmarshal(v, &r)
		return presence.Subscription{ID: r.ID, Presentity: r.Presentity, Event: r.Event, Watcher: r.Watcher,
			Expires: r.Expires, SeqReserved: r.SeqReserved, Dialog: r.Dialog}, err
	}
	r, err := binaryRecord(v)
	if err != nil {
		return presence.Subscription{}, err
	}
	s := presence.Subscription{ID: r.str(), Presentity: r.str(), Event: r.str(), Watcher: r.str(), Expires: r.time(),
		SeqReserved: r.uint(), Dialog: r.bytes()}
	return s, r.done()
}

// binaryRecord starts reading a record in the binary format.
func binaryRecord(v []byte) (*recordReader, error) {
	if len(v) == 0 || v[0] != recordBinary {
		return nil, fmt.Errorf("unknown record format %q", v[:min(len(v), 1)])
	}
	return &recordReader{b: v[1:]}, nil
}

// PutPublication implements presence.Store.
func (db *DB) PutPublication(ctx context.Context, p presence.Publication, replaces string) error {
	rec := EncodePublication(p)
	return db.batch(ctx, func(tx *bolt.Tx) error {
		if replaces != "" {
			if err := tx.Bucket(bucketPublications).Delete(publicationKey(p.Presentity, replaces)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketPublications).Put(publicationKey(p.Presentity, p.ETag), rec)
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
	rec := EncodeSubscription(s)
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSubscriptions).Put([]byte(s.ID), rec)
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
	return eachDecoded(db, bucketPublications, DecodePublication, fn)
}

// LoadSubscriptions implements presence.Store.
func (db *DB) LoadSubscriptions(_ context.Context, fn func(presence.Subscription) error) error {
	return eachDecoded(db, bucketSubscriptions, DecodeSubscription, fn)
}

// Counts implements presence.Store. It walks both buckets' pages without
// decoding a record: a fraction of what loading them costs.
func (db *DB) Counts(context.Context) (publications, subscriptions int, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		publications = tx.Bucket(bucketPublications).Stats().KeyN
		subscriptions = tx.Bucket(bucketSubscriptions).Stats().KeyN
		return nil
	})
	return publications, subscriptions, err
}
