package tlscert

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memFiles is Files in memory, as the store keeps them.
type memFiles struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (m *memFiles) PutTLSFile(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[key] = data
	return nil
}

func (m *memFiles) TLSFile(key string) ([]byte, time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.files[key]
	return d, time.Unix(1_800_000_000, 0), ok, nil
}

func (m *memFiles) TLSFileKeys(prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.files {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func (m *memFiles) DeleteTLSFiles(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.files {
		if k == key || strings.HasPrefix(k, key+"/") {
			delete(m.files, k)
		}
	}
	return nil
}

func newTestStorage() *fileStorage {
	s := newFileStorage(&memFiles{files: map[string][]byte{}})
	ctx := context.Background()
	for _, k := range []string{"certificates/ca/a.test/a.test.crt", "certificates/ca/a.test/a.test.key",
		"certificates/ca/b.test/b.test.crt", "certificates/cab/x", "acme/ca/users/me/me.json"} {
		s.Store(ctx, k, []byte(k))
	}
	return s
}

func TestStorage_ListGivesDirectChildrenOrEveryFile(t *testing.T) {
	s, ctx := newTestStorage(), context.Background()
	got, err := s.List(ctx, "certificates/ca", false)
	if want := []string{"certificates/ca/a.test", "certificates/ca/b.test"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("List non-recursive = %v, %v; want %v", got, err, want)
	}
	got, err = s.List(ctx, "certificates/ca/", true)
	if want := []string{"certificates/ca/a.test/a.test.crt", "certificates/ca/a.test/a.test.key",
		"certificates/ca/b.test/b.test.crt"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("List recursive = %v, %v; want %v", got, err, want)
	}
	if _, err := s.List(ctx, "nothing", false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("List of a missing directory: %v, want fs.ErrNotExist", err)
	}
}

func TestStorage_LoadStatExistsDelete(t *testing.T) {
	s, ctx := newTestStorage(), context.Background()
	if v, err := s.Load(ctx, "certificates/cab/x"); err != nil || string(v) != "certificates/cab/x" {
		t.Fatalf("Load = %q, %v", v, err)
	}
	if _, err := s.Load(ctx, "certificates/ca/c.test"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing key: %v, want fs.ErrNotExist", err)
	}
	if ki, err := s.Stat(ctx, "certificates/ca/a.test"); err != nil || ki.IsTerminal {
		t.Fatalf("Stat of a directory = %+v, %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "certificates/cab/x"); err != nil || !ki.IsTerminal || ki.Size != int64(len("certificates/cab/x")) {
		t.Fatalf("Stat of a file = %+v, %v", ki, err)
	}
	if !s.Exists(ctx, "certificates/ca") || s.Exists(ctx, "certificates/c") {
		t.Fatal("Exists takes a directory by its whole name only")
	}
	// Deleting a directory takes what is under it, not its namesakes' files.
	if err := s.Delete(ctx, "certificates/ca"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/ca/a.test/a.test.crt") || !s.Exists(ctx, "certificates/cab/x") {
		t.Fatal("Delete of certificates/ca removed the wrong keys")
	}
}

func TestStorage_LockWaitsForUnlockOrContext(t *testing.T) {
	s, ctx := newTestStorage(), context.Background()
	if err := s.Lock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.Lock(short, "issue_cert_a.test"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while held: %v, want the context's deadline", err)
	}
	if err := s.Lock(ctx, "issue_cert_b.test"); err != nil {
		t.Fatalf("another name is free: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- s.Lock(ctx, "issue_cert_a.test") }()
	s.Unlock(ctx, "issue_cert_a.test")
	if err := <-got; err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
}
