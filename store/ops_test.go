package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/presence"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A store another holder has open is refused at once, naming the file and
// the holder's pid.
func TestOps_LockedStoreIsRefusedPromptly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	openTest(t, path)
	start := time.Now()
	_, err := Open(Config{Path: path})
	var locked *LockedError
	if !errors.As(err, &locked) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want a *LockedError", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("refused after %s", took)
	}
	if locked.PID != os.Getpid() || !contains(err.Error(), path) || !contains(err.Error(), "another switchboard") {
		t.Fatalf("message %q (pid %d)", err, locked.PID)
	}
	if _, err := Restore(path, path); !errors.Is(err, ErrLocked) {
		t.Fatalf("Restore onto a held store: %v", err)
	}
	if _, _, err := Compact(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("Compact of a held store: %v", err)
	}
}

func putPublications(t *testing.T, db *DB, n int, body []byte) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		p := samplePublication
		p.Presentity = fmt.Sprintf("sip:u%d@example.com", i)
		p.Body = body
		if err := db.PutPublication(ctx, p, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// A backup of an open store is a store that passes Verify and holds what
// was written; restored over another store, it replaces it.
func TestOps_BackupVerifyRestore(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, filepath.Join(dir, "s.db"))
	putPublications(t, db, 50, []byte("<presence/>"))
	var size int64
	info, err := WriteBackupFile(filepath.Join(dir, "b.db"), func(w io.Writer) (int64, error) {
		return db.Backup(func(n int64) io.Writer { size = n; return w })
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Keys["publications"] != 50 || info.Version != SchemaVersion || info.Size != size {
		t.Fatalf("backup info %+v, size announced %d", info, size)
	}
	other := filepath.Join(dir, "other.db")
	o, err := Open(Config{Path: other})
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if _, err := Restore(other, filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	r := openTest(t, other)
	n := 0
	r.LoadPublications(context.Background(), func(presence.Publication) error { n++; return nil })
	if n != 50 {
		t.Fatalf("%d publications after restore", n)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

// A damaged or truncated backup is refused before the store is touched.
func TestOps_RestoreRefusesADamagedBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	db := openTest(t, path)
	putPublications(t, db, 20, []byte("<presence/>"))
	var buf bytes.Buffer
	if _, err := db.Backup(func(int64) io.Writer { return &buf }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	for name, data := range map[string][]byte{
		"truncated": buf.Bytes()[:buf.Len()/2],
		"garbage":   bytes.Repeat([]byte("x"), 8192),
	} {
		bad := filepath.Join(dir, name)
		os.WriteFile(bad, data, 0o600)
		if _, err := Restore(path, bad); err == nil {
			t.Errorf("%s backup restored", name)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the store changed")
	}
}

// Compaction gives back the pages of deleted records: the file shrinks,
// the records left are all there.
func TestOps_CompactShrinksAfterDeletes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(Config{Path: path, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("p"), 2000)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		for i := range 5000 {
			p := samplePublication
			p.Presentity, p.Body = fmt.Sprintf("sip:u%d@example.com", i), body
			if err := tx.Bucket(bucketPublications).Put(publicationKey(p.Presentity, p.ETag), EncodePublication(p)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error { // as DeletePublication does, in one commit
		for i := range 4990 {
			if err := tx.Bucket(bucketPublications).Delete(publicationKey(fmt.Sprintf("sip:u%d@example.com", i), samplePublication.ETag)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, after, err := Compact(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != after {
		t.Fatalf("file is %d bytes, Compact said %d", st.Size(), after)
	}
	if after >= before/4 {
		t.Fatalf("compacted from %d to %d bytes", before, after)
	}
	t.Logf("compacted from %d to %d bytes", before, after)
	info, err := Verify(path)
	if err != nil || info.Keys["publications"] != 10 || info.Version != SchemaVersion {
		t.Fatalf("after compaction: %+v, %v", info, err)
	}
}
