// Package ratelimit counts requests per key in fixed windows, for the
// limits that protect Switchboard's public edges (callbacks per visitor,
// per address, per destination number).
package ratelimit

import (
	"sync"
	"time"
)

// Window allows at most Max requests per key in each window of Length.
// Keys of past windows are forgotten when a new window starts, so memory
// is bounded by one window's keys. It is safe for concurrent use.
type Window struct {
	max    int
	length time.Duration

	mu    sync.Mutex
	start time.Time
	seen  map[string]int
}

// NewWindow returns a Window of max requests per key per length.
func NewWindow(max int, length time.Duration) *Window {
	return &Window{max: max, length: length, seen: make(map[string]int)}
}

// Allow counts one request of key at now and reports whether it is within
// the limit, and otherwise how long until the window ends.
func (w *Window) Allow(key string, now time.Time) (bool, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Sub(w.start) >= w.length {
		w.start, w.seen = now, make(map[string]int)
	}
	if w.seen[key] >= w.max {
		return false, w.start.Add(w.length).Sub(now)
	}
	w.seen[key]++
	return true, 0
}
