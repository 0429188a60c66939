package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// The schema version lives in the meta bucket under schemaKey, as decimal
// text. A store without it (version 0) was written by a release from
// before versions; a new store is stamped SchemaVersion at creation.
var (
	bucketMeta = []byte("meta")
	schemaKey  = []byte("schema_version")
)

// SchemaVersion is the version of the stores this binary writes.
const SchemaVersion = 1

// migration brings a store from version from to from+1. It runs in
// batches of its own transactions and must be idempotent: a migration
// cut short (a crash) runs again whole at the next start, and the new
// version is stamped only once it has finished.
type migration struct {
	from int
	what string
	run  func(b *bolt.DB) error
}

// migrations are applied in order to a store older than SchemaVersion;
// migrations[i].from == i.
var migrations = []migration{
	{0, "give agent states, transitions and callbacks a record version", addRecordVersions},
}

// ErrNewerSchema is returned by Open, Verify and Restore for a store
// written by a newer switchboard than this one.
var ErrNewerSchema = errors.New("the store was written by a newer switchboard")

// schemaVersion reads the version stamped in tx: 0 when absent.
func schemaVersion(tx *bolt.Tx) (int, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(schemaKey)
	if v == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("meta %s: %q is not a version", schemaKey, v)
	}
	return n, nil
}

func stampVersion(tx *bolt.Tx, version int) error {
	b, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return b.Put(schemaKey, []byte(strconv.Itoa(version)))
}

// checkVersion refuses a version this binary does not know.
func checkVersion(version int) error {
	if version > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this one knows up to %d; run the newer switchboard or restore a backup of version %d or older",
			ErrNewerSchema, version, SchemaVersion, SchemaVersion)
	}
	return nil
}

// prepare creates the buckets of a new store and stamps it, or brings an
// older store up to SchemaVersion; a newer store is refused.
func prepare(b *bolt.DB) error {
	var version int
	err := b.Update(func(tx *bolt.Tx) error {
		fresh := true
		for _, name := range buckets {
			if tx.Bucket(name) != nil {
				fresh = false
			}
		}
		var err error
		if version, err = schemaVersion(tx); err != nil {
			return err
		}
		if err := checkVersion(version); err != nil {
			return err
		}
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if fresh {
			version = SchemaVersion
			return stampVersion(tx, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return migrate(b, version)
}

// migrate runs the migrations from version on, stamping each step.
func migrate(b *bolt.DB, version int) error {
	for ; version < SchemaVersion; version++ {
		m := migrations[version]
		if err := m.run(b); err != nil {
			return fmt.Errorf("migrate schema %d to %d (%s): %w", m.from, m.from+1, m.what, err)
		}
		if err := b.Update(func(tx *bolt.Tx) error { return stampVersion(tx, m.from+1) }); err != nil {
			return err
		}
	}
	return nil
}

// migrationBatch bounds the records one migration transaction rewrites,
// so that a large bucket does not make one huge commit.
const migrationBatch = 5000

// addRecordVersions (0 → 1) adds "v": 1 to the JSON records of agent
// states, transitions and callbacks, which had none; their fields are
// unchanged.
func addRecordVersions(b *bolt.DB) error {
	for _, bucket := range [][]byte{bucketAgentStates, bucketTransitions, bucketCallbacks} {
		if err := rewriteJSON(b, bucket, func(rec map[string]json.RawMessage) bool {
			if _, ok := rec["v"]; ok {
				return false
			}
			rec["v"] = json.RawMessage("1")
			return true
		}); err != nil {
			return fmt.Errorf("bucket %s: %w", bucket, err)
		}
	}
	return nil
}

// rewriteJSON passes every JSON object of bucket to change and stores
// again those it changed, migrationBatch records per transaction.
func rewriteJSON(b *bolt.DB, bucket []byte, change func(map[string]json.RawMessage) bool) error {
	var after []byte // the last key of the previous batch
	for done := false; !done; {
		err := b.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucket)
			c := bk.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			type kv struct{ k, v []byte }
			var changed []kv
			n := 0
			for ; k != nil && n < migrationBatch; k, v = c.Next() {
				n++
				after = append(after[:0], k...)
				var rec map[string]json.RawMessage
				if err := json.Unmarshal(v, &rec); err != nil {
					return fmt.Errorf("key %q: %w", k, err)
				}
				if !change(rec) {
					continue
				}
				data, err := json.Marshal(rec)
				if err != nil {
					return err
				}
				changed = append(changed, kv{append([]byte(nil), k...), data})
			}
			done = k == nil
			for _, r := range changed {
				if err := bk.Put(r.k, r.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
