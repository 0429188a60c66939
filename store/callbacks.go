package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/calls"
)

var bucketCallbacks = []byte("callbacks")

var _ calls.CallbackStore = (*DB)(nil)

// callbackRecord is a calls.Callback as stored: its JSON with a record
// version (records of schema 0 had none; the 0 → 1 migration added it).
type callbackRecord struct {
	V int `json:"v"`
	calls.Callback
}

// SaveCallback implements calls.CallbackStore: the record replaced under
// its id, durable when it returns.
func (db *DB) SaveCallback(ctx context.Context, cb calls.Callback) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return put(tx, bucketCallbacks, []byte(cb.ID), callbackRecord{V: 1, Callback: cb})
	})
}

// LoadCallbacks implements calls.CallbackStore.
func (db *DB) LoadCallbacks(_ context.Context, fn func(calls.Callback) error) error {
	return each(db, bucketCallbacks, func(r callbackRecord) error { return fn(r.Callback) })
}
