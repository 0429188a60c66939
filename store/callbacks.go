package store

import (
	"context"
	"encoding/json"

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

// EncodeCallback is cb as stored; store/natsstore writes the same
// records to JetStream.
func EncodeCallback(cb calls.Callback) ([]byte, error) {
	return json.Marshal(callbackRecord{V: 1, Callback: cb})
}

// DecodeCallback reads a record EncodeCallback wrote, or one of schema 0.
func DecodeCallback(v []byte) (calls.Callback, error) {
	rec, err := unmarshal[callbackRecord](v)
	return rec.Callback, err
}

// SaveCallback implements calls.CallbackStore: the record replaced under
// its id, durable when it returns.
func (db *DB) SaveCallback(ctx context.Context, cb calls.Callback) error {
	rec, err := EncodeCallback(cb)
	if err != nil {
		return err
	}
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCallbacks).Put([]byte(cb.ID), rec)
	})
}

// LoadCallbacks implements calls.CallbackStore.
func (db *DB) LoadCallbacks(_ context.Context, fn func(calls.Callback) error) error {
	return eachDecoded(db, bucketCallbacks, DecodeCallback, fn)
}
