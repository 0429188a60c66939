package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Config locates the database file.
type Config struct {
	// Path of the bbolt file; its directory is created when missing.
	Path string `yaml:"path"`
	// BatchDelay is the longest a write waits for others to share its commit.
	BatchDelay time.Duration `yaml:"batch_delay"`
	// Retention is how long agent transitions and finished callbacks
	// (done, failed, cancelled) are kept: a sweep at start and daily
	// deletes older ones. 0 keeps everything.
	Retention time.Duration `yaml:"retention"`
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
	if c.Retention != 0 && c.Retention < time.Hour {
		return fmt.Errorf("%s.retention: %s must be 0 (keep everything) or at least 1h", prefix, c.Retention)
	}
	return nil
}

// initialMmapBytes is address space, not memory: pages are only touched
// as the file grows into them.
const initialMmapBytes = 1 << 30

// DB is the open database.
type DB struct {
	bolt    *bolt.DB
	path    string
	metrics *metrics
}

// buckets are created in every store; bucketMeta holds the schema
// version (schema.go).
var buckets = [][]byte{bucketPublications, bucketSubscriptions, bucketBindings, bucketAgentStates, bucketTransitions, bucketSettings, bucketCallbacks, bucketTLSFiles}

// lockTimeout is how long Open waits for another process to release the
// store's lock: long enough for a process that is closing it, short
// enough for a second instance to say at once why it cannot start.
const lockTimeout = 250 * time.Millisecond

// Open opens (creating when needed) the database file, brings an older
// store up to SchemaVersion and stamps a new one. A store another process
// holds is a *LockedError (ErrLocked), returned within lockTimeout; one of
// a newer schema is ErrNewerSchema.
func Open(cfg Config) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	b, err := openBolt(cfg.Path, false)
	if err != nil {
		return nil, err
	}
	if cfg.BatchDelay > 0 {
		b.MaxBatchDelay = cfg.BatchDelay
	}
	if err := prepare(b); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	db := &DB{bolt: b, path: cfg.Path, metrics: newMetrics()}
	if err := writeOwner(cfg.Path, Owner{PID: os.Getpid()}); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	return db, nil
}

// openBolt opens the bbolt file at path with Switchboard's options,
// read-only (a shared lock) when asked.
func openBolt(path string, readOnly bool) (*bolt.DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  lockTimeout,
		ReadOnly: readOnly,
		// The free-page list is rebuilt at open instead of written at
		// every commit: with a large file, writing it dominates a commit.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Map a generous range up front: growing the map blocks every
		// transaction while it remaps.
		InitialMmapSize: initialMmapBytes,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, lockedError(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return b, nil
}

// Path is the file the store lives in.
func (db *DB) Path() string { return db.path }

// Close removes the owner file, then closes the store and releases its
// lock.
func (db *DB) Close() error {
	if o, err := ReadOwner(db.path); err == nil && o.PID == os.Getpid() {
		os.Remove(OwnerPath(db.path))
	}
	return db.bolt.Close()
}

// batch runs fn in a shared, durable commit. ctx only bounds the wait for
// the commit to start: once started, a commit is not abandoned.
func (db *DB) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		db.metrics.joined(tx)
		return fn(tx)
	})
	db.metrics.write.Observe(time.Since(start).Seconds())
	return err
}

// put encodes v as JSON under key in bucket.
func put(tx *bolt.Tx, bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, data)
}

// unmarshal decodes a JSON record into a fresh T.
func unmarshal[T any](v []byte) (T, error) {
	var rec T
	err := json.Unmarshal(v, &rec)
	return rec, err
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
