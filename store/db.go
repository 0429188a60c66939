package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Config locates the database file.
type Config struct {
	// Path of the bbolt file; its directory is created when missing.
	Path string `yaml:"path"`
	// BatchDelay is the longest a write waits for others to share its commit.
	BatchDelay time.Duration `yaml:"batch_delay"`
}

// DefaultBatchDelay keeps added latency small while still grouping writes
// that arrive together.
const DefaultBatchDelay = 2 * time.Millisecond

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	if c.Path == "" {
		return fmt.Errorf("%s.path: a file path is required", prefix)
	}
	if c.BatchDelay < 0 || c.BatchDelay > time.Second {
		return fmt.Errorf("%s.batch_delay: %s must lie between 0 and 1s", prefix, c.BatchDelay)
	}
	return nil
}

// initialMmapBytes is address space, not memory: pages are only touched
// as the file grows into them.
const initialMmapBytes = 1 << 30

// DB is the open database.
type DB struct {
	bolt *bolt.DB
}

var buckets = [][]byte{bucketPublications, bucketSubscriptions, bucketBindings, bucketAgentStates, bucketTransitions, bucketSettings, bucketCallbacks, bucketTLSFiles}

// Open opens (creating when needed) the database file. A second process
// opening the same file waits up to timeout for its lock, then fails.
func Open(cfg Config) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	b, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout: 5 * time.Second,
		// The free-page list is rebuilt at open instead of written at
		// every commit: with a large file, writing it dominates a commit.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Map a generous range up front: growing the map blocks every
		// transaction while it remaps.
		InitialMmapSize: initialMmapBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	if cfg.BatchDelay > 0 {
		b.MaxBatchDelay = cfg.BatchDelay
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	return &DB{bolt: b}, nil
}

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// batch runs fn in a shared, durable commit. ctx only bounds the wait for
// the commit to start: once started, a commit is not abandoned.
func (db *DB) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.Batch(fn)
}

// put encodes v as JSON under key in bucket.
func put(tx *bolt.Tx, bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, data)
}

// each decodes every value of bucket, JSON, into a fresh T and calls fn.
func each[T any](db *DB, bucket []byte, fn func(T) error) error {
	return eachDecoded(db, bucket, func(v []byte) (T, error) {
		var rec T
		err := json.Unmarshal(v, &rec)
		return rec, err
	}, fn)
}

// eachDecoded decodes every value of bucket with decode and calls fn.
func eachDecoded[T any](db *DB, bucket []byte, decode func([]byte) (T, error), fn func(T) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			rec, err := decode(v)
			if err != nil {
				return fmt.Errorf("bucket %s key %q: %w", bucket, k, err)
			}
			return fn(rec)
		})
	})
}
