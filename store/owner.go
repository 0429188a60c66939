package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The process that holds a store open says who it is in a file beside
// it, "<store>.owner" (mode 0600, like the store): its pid, and, for a
// running server, where its admin endpoint listens and the token it
// takes. Nothing relies on the file for safety (bbolt's flock does that):
// it names the holder in the "held by another process" error, and lets
// `switchboard backup` reach the server that holds the store. A stale
// file (after kill -9) is overwritten by the next holder.

// Owner is what the owner file holds.
type Owner struct {
	PID int `json:"pid"`
	// Admin is the base URL of the server's admin endpoint (the metrics
	// listener), empty for a command that is not a server.
	Admin string `json:"admin,omitempty"`
	// Token authenticates requests to Admin.
	Token string `json:"token,omitempty"`
}

// OwnerPath is the owner file of the store at path.
func OwnerPath(path string) string { return path + ".owner" }

// ReadOwner reads the owner file of the store at path.
func ReadOwner(path string) (Owner, error) {
	var o Owner
	data, err := os.ReadFile(OwnerPath(path))
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return o, fmt.Errorf("%s: %w", OwnerPath(path), err)
	}
	return o, nil
}

// writeOwner replaces the owner file at once (temp file, rename).
func writeOwner(path string, o Owner) error {
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(OwnerPath(path))+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), OwnerPath(path))
}

// ErrLocked is returned (within a *LockedError) when another process
// holds the store open.
var ErrLocked = errors.New("held by another process")

// LockedError says which store another process holds, and which process
// when its owner file tells.
type LockedError struct {
	Path string
	// PID of the holder, 0 when unknown.
	PID int
}

func (e *LockedError) Error() string {
	who := "pid unknown"
	if e.PID > 0 {
		who = fmt.Sprintf("pid %d", e.PID)
	}
	return fmt.Sprintf("store %s is %s: another switchboard is probably running (%s); stop it first, or give this one another store.path",
		e.Path, ErrLocked, who)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// lockedError builds the error for the store at path.
func lockedError(path string) error {
	o, _ := ReadOwner(path)
	return &LockedError{Path: path, PID: o.PID}
}

// Advertise records in the owner file where this server's admin endpoint
// listens and its token, for `switchboard backup`.
func (db *DB) Advertise(admin, token string) error {
	return writeOwner(db.path, Owner{PID: os.Getpid(), Admin: admin, Token: token})
}
