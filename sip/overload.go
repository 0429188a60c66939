package sip

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// OverloadConfig keeps the server answering in time when more requests
// come than it can handle (in the spirit of RFC 7339's overload control
// and of CoDel, RFC 8289). Two queues are watched:
//
//   - the socket's: the kernel stamps each UDP datagram on arrival, so
//     the reader knows how long a request waited to be read. When even
//     the quickest read of an Interval waited longer than Target, a queue
//     stands (a burst drains within the interval): every request that
//     waited longer is refused until one is read in time again;
//   - the handlers': a request is admitted only while fewer than a limit
//     are being handled. The limit shrinks by a quarter after an interval
//     in which more than half the answers took longer than Target, or in
//     which the socket's queue stood (the handlers' work then takes the
//     reader's CPU); it grows by an eighth after one in which it was
//     reached while answers came in time.
//
// A refused request gets 503 with Retry-After at once, before sipgo
// parses it or opens a transaction, so that refusing costs a small part
// of serving. ACK, CANCEL and BYE (they end work) and the retransmissions
// of admitted requests always pass.
type OverloadConfig struct {
	// MaxInFlight caps the requests being handled at once, whatever
	// their latency, e.g. 1000; 0 switches admission control off.
	MaxInFlight int `yaml:"max_in_flight"`
	// Target is the wait the server keeps its requests under, in the
	// socket before being read and in a handler before being answered,
	// e.g. 50ms: well under T1 (500 ms), when clients retransmit.
	// Measured with SIPp on a 2-core machine at twice the maximum
	// PUBLISH rate, 20ms with a 100ms interval serves as much and
	// retransmits as little, but refuses requests at 80% of the maximum
	// whenever a garbage collection slows answers for a moment; 100ms
	// with 500ms lets retransmissions through (0.7% of requests).
	Target time.Duration `yaml:"target"`
	// Interval is how often the limit is reconsidered, and how long a
	// queue must stand before it is acted on, e.g. 200ms.
	Interval time.Duration `yaml:"interval"`
	// RetryAfter is what a refused request is told to wait, in whole
	// seconds, e.g. 2s.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// Validate names the first bad field under prefix.
func (c OverloadConfig) Validate(prefix string) error {
	switch {
	case c.MaxInFlight < 0:
		return fmt.Errorf("%s.max_in_flight: %d must not be negative", prefix, c.MaxInFlight)
	case c.MaxInFlight == 0:
		return nil
	case c.Target <= 0:
		return fmt.Errorf("%s.target: %s must be positive", prefix, c.Target)
	case c.Interval < c.Target:
		return fmt.Errorf("%s.interval: %s must be at least the target, %s", prefix, c.Interval, c.Target)
	case c.RetryAfter < time.Second:
		return fmt.Errorf("%s.retry_after: %s must be at least 1s", prefix, c.RetryAfter)
	}
	return nil
}

// minAdmissionLimit is the least the limit shrinks to: a few requests
// always proceed, so that the latency it is judged by keeps being
// measured.
const minAdmissionLimit = 4

// Why the admission refused a request (the Warning of its 503), or inTime.
const (
	inTime    = ""
	lateRead  = "waited in the socket longer than target"
	fullHands = "as many requests in hand as the limit"
)

// admission decides which new requests the server takes.
type admission struct {
	cfg   OverloadConfig
	limit atomic.Int64

	mu            sync.Mutex
	window        time.Time     // start of the current interval
	answers, late int           // answers of the interval, and those later than Target
	quickestRead  time.Duration // the shortest wait in the socket this interval; -1: none read
	dropping      bool          // the socket's queue stood an interval: late reads are refused
	binding       bool          // the limit refused a request or was reached in the interval

	// seen and old keep the branches of the requests admitted in the
	// last two generations (a generation lasts seenFor), hashed, so that
	// a retransmission passes while its original is being handled.
	seen, old map[uint64]struct{}
	rotated   time.Time
}

// seenFor is how long a generation of admitted branches lasts: a
// retransmission of an admitted request passes for at least that long
// (past 8·T1, and T2 between retransmissions).
const seenFor = 4 * time.Second

func newAdmission(cfg OverloadConfig, now time.Time) *admission {
	a := &admission{cfg: cfg, window: now, quickestRead: -1, seen: map[uint64]struct{}{}, rotated: now}
	a.limit.Store(int64(cfg.MaxInFlight))
	return a
}

// Limit returns the current limit on requests in hand (0: off).
func (a *admission) Limit() int64 { return a.limit.Load() }

// admit decides on a request read off the wire after waiting in the
// socket for waited (0 when unknown), inflight being in hand; method is
// its method, key its transactionKey. It returns inTime ("") or why not.
func (a *admission) admit(method []byte, key uint64, inflight int64, waited time.Duration, now time.Time) string {
	if a.cfg.MaxInFlight == 0 {
		return inTime
	}
	switch string(method) {
	case "ACK", "CANCEL", "BYE":
		return inTime
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roll(now)
	if a.quickestRead < 0 || waited < a.quickestRead {
		a.quickestRead = waited
	}
	if waited <= a.cfg.Target {
		a.dropping = false
	}
	if now.Sub(a.rotated) >= seenFor {
		a.old, a.seen, a.rotated = a.seen, make(map[uint64]struct{}, len(a.seen)), now
	}
	if _, ok := a.seen[key]; ok {
		return inTime
	}
	if _, ok := a.old[key]; ok {
		return inTime
	}
	switch {
	case a.dropping && waited > a.cfg.Target:
		return lateRead
	case inflight >= a.limit.Load():
		a.binding = true
		return fullHands
	}
	a.seen[key] = struct{}{}
	return inTime
}

// done records a request answered after latency, with inflight still in
// hand.
func (a *admission) done(latency time.Duration, inflight int64, now time.Time) {
	if a.cfg.MaxInFlight == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roll(now)
	a.answers++
	if latency > a.cfg.Target {
		a.late++
	}
	if inflight+1 >= a.limit.Load() {
		a.binding = true
	}
}

// roll closes the interval once it has lasted Interval: a socket queue
// that stood all along starts refusing late reads, and the limit is
// reconsidered. a.mu must be held.
func (a *admission) roll(now time.Time) {
	if now.Sub(a.window) < a.cfg.Interval {
		return
	}
	stood := a.quickestRead > a.cfg.Target
	if stood {
		a.dropping = true
	}
	limit := a.limit.Load()
	switch {
	case stood || 2*a.late > a.answers:
		limit = max(limit*3/4, minAdmissionLimit)
	case a.binding:
		limit = min(limit+max(limit/8, 1), int64(a.cfg.MaxInFlight))
	}
	a.limit.Store(limit)
	a.window, a.answers, a.late, a.quickestRead, a.binding = now, 0, 0, -1, false
}
