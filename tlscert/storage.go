package tlscert

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// Files is what certificates are kept in when tls.acme.storage is
// "store": files under slash-separated keys, in the bbolt store
// (store.DB implements it). Every write is durable when it returns.
type Files interface {
	PutTLSFile(ctx context.Context, key string, data []byte) error
	// TLSFile is the data under key and when it was written; ok is
	// false when key holds nothing.
	TLSFile(key string) (data []byte, modified time.Time, ok bool, err error)
	// TLSFileKeys lists the keys that start with prefix, in order.
	TLSFileKeys(prefix string) ([]string, error)
	// DeleteTLSFiles removes key and every key under key + "/".
	DeleteTLSFiles(ctx context.Context, key string) error
}

// fileStorage is certmagic's storage over Files. Keys are files; a key
// that prefixes others followed by "/" is a directory. The bbolt file is
// one process's (its file lock), so the locks are this process's own.
type fileStorage struct {
	files Files
	mu    sync.Mutex
	held  map[string]chan struct{} // closed on Unlock
}

var _ certmagic.Storage = (*fileStorage)(nil)

func newFileStorage(files Files) *fileStorage {
	return &fileStorage{files: files, held: map[string]chan struct{}{}}
}

// Lock waits until name is free or ctx ends.
func (s *fileStorage) Lock(ctx context.Context, name string) error {
	for {
		s.mu.Lock()
		released, taken := s.held[name]
		if !taken {
			s.held[name] = make(chan struct{})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Unlock frees name.
func (s *fileStorage) Unlock(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if released, ok := s.held[name]; ok {
		close(released)
		delete(s.held, name)
	}
	return nil
}

func (s *fileStorage) Store(ctx context.Context, key string, value []byte) error {
	return s.files.PutTLSFile(ctx, key, value)
}

// Load returns fs.ErrNotExist for a missing key, as certmagic expects.
func (s *fileStorage) Load(_ context.Context, key string) ([]byte, error) {
	data, _, ok, err := s.files.TLSFile(key)
	if err == nil && !ok {
		err = fs.ErrNotExist
	}
	return data, err
}

func (s *fileStorage) Delete(ctx context.Context, key string) error {
	return s.files.DeleteTLSFiles(ctx, key)
}

func (s *fileStorage) Exists(_ context.Context, key string) bool {
	if _, _, ok, err := s.files.TLSFile(key); ok && err == nil {
		return true
	}
	under, err := s.files.TLSFileKeys(key + "/")
	return err == nil && len(under) > 0
}

// List returns the keys under dir: all of them when recursive, else its
// direct children, files and directories, as full keys.
func (s *fileStorage) List(_ context.Context, dir string, recursive bool) ([]string, error) {
	prefix := dir
	if prefix != "" {
		prefix = strings.TrimSuffix(dir, "/") + "/"
	}
	keys, err := s.files.TLSFileKeys(prefix)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	if recursive {
		return keys, nil
	}
	var out []string
	for _, k := range keys {
		child, _, _ := strings.Cut(strings.TrimPrefix(k, prefix), "/")
		if child = prefix + child; !slices.Contains(out, child) {
			out = append(out, child)
		}
	}
	return out, nil
}

func (s *fileStorage) Stat(_ context.Context, key string) (certmagic.KeyInfo, error) {
	data, modified, ok, err := s.files.TLSFile(key)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if ok {
		return certmagic.KeyInfo{Key: key, Modified: modified, Size: int64(len(data)), IsTerminal: true}, nil
	}
	under, err := s.files.TLSFileKeys(key + "/")
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(under) == 0 {
		return certmagic.KeyInfo{}, fs.ErrNotExist
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// String names the storage in certmagic's logs.
func (s *fileStorage) String() string { return "switchboard store (tls_files)" }
