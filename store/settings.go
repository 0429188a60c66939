package store

import (
	"context"
	"crypto/rand"

	bolt "go.etcd.io/bbolt"
)

var bucketSettings = []byte("settings")

// Secret returns the secret stored under name, generating and storing
// size random bytes the first time, so it survives restarts (for
// example the key that signs visitor cookies).
func (db *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var secret []byte
	db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSettings).Get([]byte(name)); v != nil {
			secret = append([]byte(nil), v...)
		}
		return nil
	})
	if secret != nil {
		return secret, nil
	}
	fresh := make([]byte, size)
	rand.Read(fresh)
	err := db.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		if v := b.Get([]byte(name)); v != nil { // another caller won
			secret = append([]byte(nil), v...)
			return nil
		}
		secret = fresh
		return b.Put([]byte(name), fresh)
	})
	return secret, err
}
