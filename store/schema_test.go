package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
)

func openTest(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(Config{Path: path, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// writeRaw creates a bbolt file at path the way an earlier release left
// it: buckets and records put by fill, without Open's preparation.
func writeRaw(t *testing.T, path string, fill func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func versionOf(t *testing.T, db *DB) int {
	t.Helper()
	var v int
	if err := db.bolt.View(func(tx *bolt.Tx) (err error) { v, err = schemaVersion(tx); return err }); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchema_NewStoreIsStampedCurrent(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	if v := versionOf(t, db); v != SchemaVersion {
		t.Fatalf("version %d, want %d", v, SchemaVersion)
	}
}

// The migrations registry is dense: one step per version below the
// current one, in order.
func TestSchema_MigrationsCoverEveryVersion(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("%d migrations for schema %d", len(migrations), SchemaVersion)
	}
	for i, m := range migrations {
		if m.from != i || m.what == "" || m.run == nil {
			t.Fatalf("migrations[%d] = {from %d, %q}", i, m.from, m.what)
		}
	}
}

// Migration 0 → 1: a store of an earlier release (buckets, records
// without "v", no version) is stamped, its agent and callback records get
// a version, their content unchanged and still loaded; presence records
// are not touched.
func TestSchema_Migration0To1AddsRecordVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	oldTransition := acd.Transition{Agent: "sip:alice@example.com", FromName: "offline", ToName: "available", At: at}
	oldCallback := calls.Callback{ID: "cb1", Group: "support", Phone: "+33123456789", State: calls.CallbackQueued, Updated: at}
	pub := EncodePublication(samplePublication)
	writeRaw(t, path, func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		for _, r := range []struct {
			bucket, key []byte
			v           any
		}{
			{bucketAgentStates, []byte(oldTransition.Agent), oldTransition},
			{bucketTransitions, transitionKey(oldTransition.Agent, at), oldTransition},
			{bucketCallbacks, []byte("cb1"), oldCallback},
		} {
			if err := put(tx, r.bucket, r.key, r.v); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketPublications).Put(publicationKey(samplePublication.Presentity, "e1"), pub)
	})

	db := openTest(t, path)
	if v := versionOf(t, db); v != SchemaVersion {
		t.Fatalf("version %d after migration, want %d", v, SchemaVersion)
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		for _, bucket := range [][]byte{bucketAgentStates, bucketTransitions, bucketCallbacks} {
			tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				var rec struct{ V int }
				if err := json.Unmarshal(v, &rec); err != nil || rec.V != 1 {
					t.Errorf("%s %q: %s, want v 1", bucket, k, v)
				}
				return nil
			})
		}
		if got := tx.Bucket(bucketPublications).Get(publicationKey(samplePublication.Presentity, "e1")); string(got) != string(pub) {
			t.Errorf("publication rewritten: %q", got)
		}
		return nil
	})
	ctx := context.Background()
	var states []acd.Transition
	db.LoadAgentStates(ctx, func(tr acd.Transition) error { states = append(states, tr); return nil })
	if len(states) != 1 || states[0].Agent != oldTransition.Agent || !states[0].At.Equal(at) || states[0].ToName != "available" {
		t.Fatalf("agent states after migration: %+v", states)
	}
	var cbs []calls.Callback
	db.LoadCallbacks(ctx, func(cb calls.Callback) error { cbs = append(cbs, cb); return nil })
	if len(cbs) != 1 || cbs[0].ID != "cb1" || cbs[0].Phone != oldCallback.Phone || cbs[0].State != calls.CallbackQueued {
		t.Fatalf("callbacks after migration: %+v", cbs)
	}
}

// The 0 → 1 migration crosses batch boundaries and may run twice (a
// crash before the stamp): every record ends with one version.
func TestSchema_Migration0To1IsBatchedAndIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	const n = 2*migrationBatch + 7
	writeRaw(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketTransitions)
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put([]byte("a\x00"+strconv.Itoa(100000+i)), []byte(`{"agent":"a"}`)); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketAgentStates, bucketCallbacks} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := addRecordVersions(b); err != nil {
			t.Fatal(err)
		}
	}
	versioned := 0
	b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTransitions).ForEach(func(k, v []byte) error {
			if string(v) == `{"agent":"a","v":1}` {
				versioned++
			}
			return nil
		})
	})
	b.Close()
	if versioned != n {
		t.Fatalf("%d of %d records versioned", versioned, n)
	}
}

// A store stamped with a version this binary does not know is refused,
// by Open and by Verify (what restore checks), untouched.
func TestSchema_NewerVersionIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	writeRaw(t, path, func(tx *bolt.Tx) error { return stampVersion(tx, SchemaVersion+1) })
	_, err := Open(Config{Path: path})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open: %v, want ErrNewerSchema", err)
	}
	want := "schema version " + strconv.Itoa(SchemaVersion+1)
	if msg := err.Error(); !contains(msg, path) || !contains(msg, want) {
		t.Fatalf("Open: %q should name the file and %q", msg, want)
	}
	if _, err := Verify(path); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Verify: %v, want ErrNewerSchema", err)
	}
	b, _ := bolt.Open(path, 0o600, nil)
	defer b.Close()
	b.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPublications) != nil {
			t.Error("the refused store was given buckets")
		}
		return nil
	})
}
