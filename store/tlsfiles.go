package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/tlscert"
)

// bucketTLSFiles holds what tlscert keeps of ACME: certificates, their
// keys and metadata, the account, under slash-separated keys such as
// "certificates/<ca>/<domain>/<domain>.crt".
var bucketTLSFiles = []byte("tls_files")

var _ tlscert.Files = (*DB)(nil)

// tlsFileRecord is one stored file and when it was written.
type tlsFileRecord struct {
	V        int       `json:"v"`
	Modified time.Time `json:"modified"`
	Data     []byte    `json:"data"`
}

// PutTLSFile implements tlscert.Files: data replaces what key held,
// durable when it returns.
func (db *DB) PutTLSFile(ctx context.Context, key string, data []byte) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		return put(tx, bucketTLSFiles, []byte(key), tlsFileRecord{V: 1, Modified: time.Now().UTC(), Data: data})
	})
}

// TLSFile implements tlscert.Files: the data under key and when it was
// written; ok is false when key holds nothing.
func (db *DB) TLSFile(key string) (data []byte, modified time.Time, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTLSFiles).Get([]byte(key))
		if v == nil {
			return nil
		}
		var rec tlsFileRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("bucket %s key %q: %w", bucketTLSFiles, key, err)
		}
		data, modified, ok = rec.Data, rec.Modified, true
		return nil
	})
	return data, modified, ok, err
}

// TLSFileKeys implements tlscert.Files: every key that starts with
// prefix, in order.
func (db *DB) TLSFileKeys(prefix string) ([]string, error) {
	var keys []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTLSFiles).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			keys = append(keys, string(k))
		}
		return nil
	})
	return keys, err
}

// DeleteTLSFiles implements tlscert.Files: key and every key under it
// (key + "/...") are gone, durably, when it returns nil.
func (db *DB) DeleteTLSFiles(ctx context.Context, key string) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTLSFiles)
		if err := b.Delete([]byte(key)); err != nil {
			return err
		}
		var under [][]byte
		p := []byte(key + "/")
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			under = append(under, bytes.Clone(k))
		}
		for _, k := range under {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
