package store

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/location"
)

var bucketBindings = []byte("bindings")

var _ location.Store = (*DB)(nil)

// bindingsRecord is the stored set of bindings of one address-of-record.
type bindingsRecord struct {
	V        int                `json:"v"`
	Bindings []location.Binding `json:"bindings"`
}

// EncodeBindings is the record of one address-of-record's bindings;
// store/natsstore writes the same records to JetStream.
func EncodeBindings(bs []location.Binding) ([]byte, error) {
	return json.Marshal(bindingsRecord{V: 1, Bindings: bs})
}

// DecodeBindings reads a record EncodeBindings wrote.
func DecodeBindings(v []byte) ([]location.Binding, error) {
	rec, err := unmarshal[bindingsRecord](v)
	return rec.Bindings, err
}

// PutBindings implements location.Store.
func (db *DB) PutBindings(ctx context.Context, aor string, bs []location.Binding) error {
	rec, err := EncodeBindings(bs)
	if err != nil {
		return err
	}
	return db.batch(ctx, func(tx *bolt.Tx) error {
		if len(bs) == 0 {
			return tx.Bucket(bucketBindings).Delete([]byte(aor))
		}
		return tx.Bucket(bucketBindings).Put([]byte(aor), rec)
	})
}

// LoadBindings implements location.Store.
func (db *DB) LoadBindings(_ context.Context, fn func(location.Binding) error) error {
	return eachDecoded(db, bucketBindings, DecodeBindings, func(bs []location.Binding) error {
		for _, b := range bs {
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	})
}
