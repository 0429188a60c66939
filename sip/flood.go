package sip

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/internal/netlist"
)

// FloodConfig admits requests per source address, in the spirit of
// Kamailio's pike: a token bucket per address; past it a request gets 503
// with Retry-After, and past Burst refusals more it is dropped without an
// answer, which costs an attacker more than it costs us.
type FloodConfig struct {
	// Rate is the requests per second one address may send; 0 switches
	// the limit off.
	Rate float64 `yaml:"rate"`
	// Burst is how many requests one address may send at once.
	Burst int `yaml:"burst"`
	// Exempt addresses (IPs or CIDRs) are never limited: loopback by
	// default (the ACD's own PUBLISHes, local load tests). Trusted proxies
	// (sip.trusted_proxies) are exempt too: all their traffic shares one
	// address.
	Exempt []string `yaml:"exempt"`
}

// maxFloodKeys bounds the buckets kept: past it, idle ones are dropped,
// and new addresses are admitted unlimited until there is room.
const maxFloodKeys = 1 << 16

// flood holds the buckets of the source addresses seen.
type flood struct {
	cfg    FloodConfig
	exempt []netip.Prefix

	mu      sync.Mutex
	sources map[netip.Addr]*source
}

type source struct {
	bucket  *rate.Limiter
	refused int // refusals since the last admitted request
	seen    time.Time
}

// Verdicts of flood.admit.
const (
	admitted = iota
	refuse   // answer 503
	drop     // answer nothing
)

func newFlood(cfg FloodConfig, trusted []netip.Prefix) (*flood, error) {
	exempt, err := netlist.Parse(cfg.Exempt)
	if err != nil {
		return nil, err
	}
	return &flood{cfg: cfg, exempt: append(exempt, trusted...), sources: map[netip.Addr]*source{}}, nil
}

// admit decides on one request from addr at now.
func (f *flood) admit(addr netip.Addr, now time.Time) int {
	if f.cfg.Rate <= 0 || !addr.IsValid() || netlist.Contains(f.exempt, addr) {
		return admitted
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sources[addr]
	if s == nil {
		if len(f.sources) >= maxFloodKeys && !f.prune(now) {
			return admitted
		}
		s = &source{bucket: rate.NewLimiter(rate.Limit(f.cfg.Rate), max(f.cfg.Burst, 1))}
		f.sources[addr] = s
	}
	s.seen = now
	if s.bucket.AllowN(now, 1) {
		s.refused = 0
		return admitted
	}
	if s.refused++; s.refused > max(f.cfg.Burst, 1) {
		return drop
	}
	return refuse
}

// prune drops the buckets of addresses idle long enough to be full again
// and reports whether that made room. f.mu must be held.
func (f *flood) prune(now time.Time) bool {
	idle := time.Duration(float64(max(f.cfg.Burst, 1))/f.cfg.Rate*float64(time.Second)) + time.Second
	for a, s := range f.sources {
		if now.Sub(s.seen) > idle {
			delete(f.sources, a)
		}
	}
	return len(f.sources) < maxFloodKeys
}
