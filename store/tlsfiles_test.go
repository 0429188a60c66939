package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TLS files survive a reopening, are listed by prefix, and a directory's
// deletion takes what is under it only.
func TestTLSFiles_PutListDeleteAcrossReopen(t *testing.T) {
	path, ctx := filepath.Join(t.TempDir(), "s.db"), context.Background()
	db, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	for _, k := range []string{"certificates/ca/a.test/a.test.crt", "certificates/ca/a.test/a.test.key", "certificates/cab/x"} {
		if err := db.PutTLSFile(ctx, k, []byte("data of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = Open(Config{Path: path}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data, modified, ok, err := db.TLSFile("certificates/cab/x")
	if err != nil || !ok || string(data) != "data of certificates/cab/x" || modified.Before(before) {
		t.Fatalf("TLSFile = %q, %v, %v, %v", data, modified, ok, err)
	}
	if _, _, ok, err := db.TLSFile("certificates/ca"); ok || err != nil {
		t.Fatalf("a directory is no file: %v %v", ok, err)
	}
	keys, err := db.TLSFileKeys("certificates/ca/")
	if want := []string{"certificates/ca/a.test/a.test.crt", "certificates/ca/a.test/a.test.key"}; err != nil || !slices.Equal(keys, want) {
		t.Fatalf("TLSFileKeys = %v, %v; want %v", keys, err, want)
	}
	if err := db.DeleteTLSFiles(ctx, "certificates/ca"); err != nil {
		t.Fatal(err)
	}
	keys, _ = db.TLSFileKeys("certificates/")
	if want := []string{"certificates/cab/x"}; !slices.Equal(keys, want) {
		t.Fatalf("after deleting certificates/ca: %v, want %v", keys, want)
	}
}
