package store

import (
	"context"

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

// PutBindings implements location.Store.
func (db *DB) PutBindings(ctx context.Context, aor string, bs []location.Binding) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		if len(bs) == 0 {
			return tx.Bucket(bucketBindings).Delete([]byte(aor))
		}
		return put(tx, bucketBindings, []byte(aor), bindingsRecord{V: 1, Bindings: bs})
	})
}

// LoadBindings implements location.Store.
func (db *DB) LoadBindings(_ context.Context, fn func(location.Binding) error) error {
	return each(db, bucketBindings, func(r bindingsRecord) error {
		for _, b := range r.Bindings {
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	})
}
