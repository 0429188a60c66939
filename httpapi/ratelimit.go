package httpapi

import (
	"sync"
	"time"
)

// limiter counts requests per key in fixed windows: at most max per
// window. Keys of past windows are forgotten when a new window starts, so
// memory is bounded by one window's keys.
type limiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	start time.Time
	seen  map[string]int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, seen: make(map[string]int)}
}

// allow counts one request of key at now and reports whether it is within
// the limit, and otherwise how long until the window ends.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start, l.seen = now, make(map[string]int)
	}
	if l.seen[key] >= l.max {
		return false, l.start.Add(l.window).Sub(now)
	}
	l.seen[key]++
	return true, 0
}
