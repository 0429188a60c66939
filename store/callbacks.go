package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/calls"
)

var bucketCallbacks = []byte("callbacks")

var _ calls.CallbackStore = (*DB)(nil)

// SaveCallback implements calls.CallbackStore: the record replaced under
// its id, durable when it returns.
func (db *DB) SaveCallback(ctx context.Context, cb calls.Callback) error {
	return db.batch(ctx, func(tx *bolt.Tx) error { return put(tx, bucketCallbacks, []byte(cb.ID), cb) })
}

// LoadCallbacks implements calls.CallbackStore.
func (db *DB) LoadCallbacks(_ context.Context, fn func(calls.Callback) error) error {
	return each(db, bucketCallbacks, fn)
}
