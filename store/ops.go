package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Operations on the file as a whole: hot backup of an open store, the
// check a backup passes, restore and compaction of a store no server
// holds. Files are replaced atomically: written beside their target,
// synced, renamed over it, and the directory synced.

// Info describes a store file that passed Verify.
type Info struct {
	Size    int64          // bytes
	Version int            // schema version
	Keys    map[string]int // records per bucket
}

// Backup writes a consistent copy of the whole store to the writer start
// returns, in one read transaction (writers go on meanwhile); start gets
// the copy's size first (an HTTP Content-Length).
func (db *DB) Backup(start func(size int64) io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(start(tx.Size()))
		return err
	})
	return n, err
}

// Verify opens the store file at path read-only, checks every page of it
// (bbolt's consistency check) and its schema version, and counts its
// records.
func Verify(path string) (Info, error) {
	info := Info{Keys: map[string]int{}}
	b, err := openBolt(path, true)
	if err != nil {
		return info, err
	}
	defer b.Close()
	st, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	err = b.View(func(tx *bolt.Tx) error {
		// Checked before any page past the meta pages is read: a
		// truncated file's missing pages are mapped, but reading them
		// faults (SIGBUS).
		if tx.Size() > st.Size() {
			return fmt.Errorf("truncated: %d bytes, its pages need %d", st.Size(), tx.Size())
		}
		if info.Version, err = schemaVersion(tx); err != nil {
			return err
		}
		if err := checkVersion(info.Version); err != nil {
			return err
		}
		for err := range tx.Check() {
			return fmt.Errorf("damaged: %w", err)
		}
		info.Size = tx.Size()
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			info.Keys[string(name)] = bk.Stats().KeyN
			return nil
		})
	})
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// WriteBackupFile writes a backup to dst atomically: write fills a
// temporary file beside dst, which is synced and must pass Verify before
// it replaces dst.
func WriteBackupFile(dst string, write func(io.Writer) (int64, error)) (Info, error) {
	var info Info
	err := replaceFile(dst, func(tmp *os.File) error {
		if _, err := write(tmp); err != nil {
			return err
		}
		if err := tmp.Sync(); err != nil {
			return err
		}
		var err error
		info, err = Verify(tmp.Name())
		return err
	})
	return info, err
}

// BackupFile writes a backup of the store at path, which no process may
// hold, to dst (WriteBackupFile).
func BackupFile(path, dst string) (Info, error) {
	src, release, err := lock(path)
	if err != nil {
		return Info{}, err
	}
	defer release()
	return WriteBackupFile(dst, func(w io.Writer) (n int64, err error) {
		err = src.View(func(tx *bolt.Tx) error { n, err = tx.WriteTo(w); return err })
		return n, err
	})
}

// Restore replaces the store at path with the backup file from, once it
// passed Verify. No process may hold the store meanwhile: a server
// running on it is a *LockedError. The store's schema is migrated, if
// the backup's is older, when a server next opens it.
func Restore(path, from string) (Info, error) {
	info, err := Verify(from)
	if err != nil {
		return info, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return info, err
	}
	_, release, err := lock(path)
	switch {
	case errors.Is(err, ErrLocked):
		return info, err
	case err == nil:
		defer release()
	default:
		// No store yet (a new host), or one bbolt cannot open (damaged,
		// not a store): replaced all the same, no server can run on it.
	}
	src, err := os.Open(from)
	if err != nil {
		return info, err
	}
	defer src.Close()
	err = replaceFile(path, func(tmp *os.File) error {
		if _, err := io.Copy(tmp, src); err != nil {
			return err
		}
		return tmp.Sync()
	})
	return info, err
}

// compactTxBytes bounds the data one transaction of Compact copies.
const compactTxBytes = 64 << 20

// Compact rewrites the store at path, which no process may hold, into a
// new file without its free pages, and renames it over path. It returns
// the sizes before and after.
func Compact(path string) (before, after int64, err error) {
	src, release, err := lock(path)
	if err != nil {
		return 0, 0, err
	}
	defer release()
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	before = st.Size()
	err = replaceFile(path, func(tmp *os.File) error {
		// Not openBolt's options: its generous map would make bbolt grow
		// the file in 16 MiB steps.
		dst, err := bolt.Open(tmp.Name(), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			return err
		}
		if err := bolt.Compact(dst, src, compactTxBytes); err != nil {
			dst.Close()
			return err
		}
		dst.View(func(tx *bolt.Tx) error { after = tx.Size(); return nil })
		if err := dst.Close(); err != nil {
			return err
		}
		// The pages past the last one in use are slack bbolt grew the
		// file by: drop them.
		if err := tmp.Truncate(after); err != nil {
			return err
		}
		return tmp.Sync()
	})
	return before, after, err
}

// lock opens the bbolt file at path, holding its lock until release, and
// writes the owner file meanwhile.
func lock(path string) (*bolt.DB, func(), error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("store %w", err)
	}
	b, err := openBolt(path, false)
	if err != nil {
		return nil, nil, err
	}
	if err := writeOwner(path, Owner{PID: os.Getpid()}); err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, func() {
		os.Remove(OwnerPath(path))
		b.Close()
	}, nil
}

// replaceFile creates a temporary file beside path, has fill write it,
// renames it over path and syncs the directory; the temporary file is
// removed on failure.
func replaceFile(path string, fill func(tmp *os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	err = fill(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o600)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
