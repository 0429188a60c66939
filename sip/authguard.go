package sip

import (
	"net/netip"
	"sync"
	"time"
)

// GuardConfig backs off digest guessing, in the spirit of fail2ban. Zero
// values take the defaults.
type GuardConfig struct {
	// MaxFailures is how many wrong answers one address may give for one
	// user within FailureWindow; past it that address is refused (403)
	// for that user during Lockout. Default 10.
	MaxFailures int `yaml:"max_failures"`
	// MaxFailuresPerSource is how many wrong answers one address may give
	// for all users together (guessing user names too); past it the
	// address is refused for everyone during Lockout. Default 50.
	MaxFailuresPerSource int `yaml:"max_failures_per_source"`
	// FailureWindow is how long failures are remembered. Default 10m.
	FailureWindow time.Duration `yaml:"failure_window"`
	// Lockout is the first refusal's length; each new one for the same
	// key doubles it, up to an hour. Default 1m.
	Lockout time.Duration `yaml:"lockout"`
}

// Guard defaults and bounds.
const (
	defaultMaxFailures          = 10
	defaultMaxFailuresPerSource = 50
	defaultFailureWindow        = 10 * time.Minute
	defaultLockout              = time.Minute
	maxLockout                  = time.Hour
	// maxGuardKeys bounds the guard's memory: past it, keys whose window
	// and lockout are over are dropped, and failures of new keys are not
	// counted until there is room (the per-source count still is).
	maxGuardKeys = 1 << 16
)

func (c GuardConfig) withDefaults() GuardConfig {
	if c.MaxFailures <= 0 {
		c.MaxFailures = defaultMaxFailures
	}
	if c.MaxFailuresPerSource <= 0 {
		c.MaxFailuresPerSource = defaultMaxFailuresPerSource
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = defaultFailureWindow
	}
	if c.Lockout <= 0 {
		c.Lockout = defaultLockout
	}
	return c
}

// guard counts failed digest answers per source address and user and per
// source address. The right password from another address is never
// refused because of failures elsewhere.
type guard struct {
	cfg GuardConfig

	mu   sync.Mutex
	keys map[guardKey]*strikes
}

// guardKey is a source address and a user, or the address alone (user "").
type guardKey struct {
	addr netip.Addr
	user string
}

type strikes struct {
	failures int
	first    time.Time     // of the current window
	until    time.Time     // refused until then
	lockout  time.Duration // the last lockout's length
}

func newGuard(cfg GuardConfig) *guard {
	return &guard{cfg: cfg.withDefaults(), keys: make(map[guardKey]*strikes)}
}

// blocked reports whether requests of user from addr are refused at now,
// and the limit that refuses them with its threshold.
func (g *guard) blocked(addr netip.Addr, user string, now time.Time) (string, int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.keys[guardKey{addr, ""}]; s != nil && now.Before(s.until) {
		return "sip.auth.max_failures_per_source", g.cfg.MaxFailuresPerSource, true
	}
	if s := g.keys[guardKey{addr, user}]; s != nil && now.Before(s.until) {
		return "sip.auth.max_failures", g.cfg.MaxFailures, true
	}
	return "", 0, false
}

// failed counts a wrong answer for user from addr at now.
func (g *guard) failed(addr netip.Addr, user string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.strike(guardKey{addr, user}, g.cfg.MaxFailures, now)
	g.strike(guardKey{addr, ""}, g.cfg.MaxFailuresPerSource, now)
}

// succeeded forgets the failures of user from addr.
func (g *guard) succeeded(addr netip.Addr, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.keys, guardKey{addr, user})
}

// strike counts one failure of k; the limit-th within the window locks k
// out. g.mu must be held.
func (g *guard) strike(k guardKey, limit int, now time.Time) {
	s := g.keys[k]
	if s == nil {
		if len(g.keys) >= maxGuardKeys && !g.prune(now) {
			return
		}
		s = &strikes{first: now}
		g.keys[k] = s
	}
	if now.Sub(s.first) > g.cfg.FailureWindow {
		s.failures, s.first = 0, now
	}
	if s.failures++; s.failures < limit {
		return
	}
	s.lockout = min(max(2*s.lockout, g.cfg.Lockout), maxLockout)
	s.until, s.failures, s.first = now.Add(s.lockout), 0, now
}

// prune drops the keys whose window and lockout are over and reports
// whether that made room. g.mu must be held.
func (g *guard) prune(now time.Time) bool {
	for k, s := range g.keys {
		if now.Sub(s.first) > g.cfg.FailureWindow && !now.Before(s.until) {
			delete(g.keys, k)
		}
	}
	return len(g.keys) < maxGuardKeys
}
