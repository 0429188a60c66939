// Package location is the registrar's location service (RFC 3261 §10):
// which contacts each address-of-record is reachable at, until when. It
// imports no transport; sip/ turns REGISTER into Register, and other parts
// (the ACD, the B2BUA) ask Lookup where to reach a user. It keeps only
// addresses-of-record of the served domains, and at most
// Config.MaxContacts bindings each.
//
// With several nodes sharing one store (store.driver nats), a REGISTER may
// reach any of them: each node applies the bindings the others stored
// (cluster.go: Apply), so that every node, the ACD's leader among them,
// knows every agent's phone. Replay tells an observer that starts late
// what it missed. A binding keeps the Path its REGISTER came with
// (RFC 3327), which sip/ fills only from trusted proxies, so that the
// node that calls the phone, whichever it is, goes through the proxy
// the phone registered through.
package location

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"
)

// Binding is one contact of an address-of-record.
type Binding struct {
	AOR       string    `json:"aor"`
	Contact   string    `json:"contact"`
	Expires   time.Time `json:"expires"`
	CallID    string    `json:"call_id"`
	CSeq      uint32    `json:"cseq"`
	Source    string    `json:"source"`    // host:port the REGISTER came from
	Transport string    `json:"transport"` // transport it came over
	// Path is the route set toward the contact (RFC 3327): the Path
	// values of the REGISTER, in order, when a trusted proxy sent it.
	// Requests to the contact go through them, as Route headers.
	Path []string `json:"path,omitempty"`
}

// Store keeps bindings durable; PutBindings replaces all bindings of aor.
type Store interface {
	PutBindings(ctx context.Context, aor string, bs []Binding) error
	LoadBindings(ctx context.Context, fn func(Binding) error) error
}

// Config bounds registration lifetimes.
type Config struct {
	// MinExpires is the shortest registration accepted (423 below it).
	MinExpires time.Duration `yaml:"min_expires"`
	// MaxExpires caps a registration.
	MaxExpires time.Duration `yaml:"max_expires"`
	// DefaultExpires applies to a contact with no expiry of its own.
	DefaultExpires time.Duration `yaml:"default_expires"`
	// MaxContacts caps the live bindings of one address-of-record: a
	// user's phones, not an unbounded list.
	MaxContacts int `yaml:"max_contacts"`
	// Domains are the hosts whose addresses-of-record are kept: the
	// presence server's domains (presence.domains). Empty: any.
	Domains []string `yaml:"-"`
}

// DefaultConfig returns the usual registrar bounds.
func DefaultConfig() Config {
	return Config{MinExpires: 60 * time.Second, MaxExpires: 2 * time.Hour, DefaultExpires: time.Hour, MaxContacts: 10}
}

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	if c.MinExpires < time.Second || c.DefaultExpires < c.MinExpires || c.MaxExpires < c.DefaultExpires {
		return fmt.Errorf("%s: need 1s <= min_expires (%s) <= default_expires (%s) <= max_expires (%s)",
			prefix, c.MinExpires, c.DefaultExpires, c.MaxExpires)
	}
	if c.MaxContacts < 1 {
		return fmt.Errorf("%s.max_contacts: must be at least 1", prefix)
	}
	return nil
}

// serves reports whether aor ("sip:user@host") is in a served domain.
func (c Config) serves(aor string) bool {
	if len(c.Domains) == 0 {
		return true
	}
	_, host, _ := strings.Cut(aor, "@")
	return slices.ContainsFunc(c.Domains, func(d string) bool { return strings.EqualFold(d, host) })
}

var (
	// ErrOutOfOrder is returned for a REGISTER older than one already
	// applied in the same Call-ID (RFC 3261 §10.3 step 7).
	ErrOutOfOrder = errors.New("out-of-order registration")
	// ErrWildcard is returned for "Contact: *" with other contacts or a
	// non-zero expiry (RFC 3261 §10.3 step 6).
	ErrWildcard = errors.New(`"Contact: *" needs Expires: 0 and no other contact`)
	// ErrNotServed is returned for an address-of-record outside the
	// served domains (RFC 3261 §10.3 step 3: 404).
	ErrNotServed = errors.New("domain not served")
)

// LimitError is a REGISTER refused because it would take an
// address-of-record past a configured cap; Limit names it as in the
// configuration.
type LimitError struct {
	Limit string
	Max   int
}

func (e *LimitError) Error() string { return fmt.Sprintf("over %s (%d)", e.Limit, e.Max) }

// IntervalTooBriefError is returned for an expiry under Config.MinExpires.
type IntervalTooBriefError struct{ Min time.Duration }

func (e *IntervalTooBriefError) Error() string {
	return fmt.Sprintf("interval too brief: minimum is %s", e.Min)
}

// Contact is one Contact of a REGISTER.
type Contact struct {
	URI string
	// Expires is the contact's own expiry, or the request's; nil for none.
	Expires *time.Duration
}

// Request is a REGISTER stripped of its transport.
type Request struct {
	AOR       string
	CallID    string
	CSeq      uint32
	Contacts  []Contact
	Wildcard  bool // "Contact: *"
	Source    string
	Transport string
	Path      []string // see Binding.Path
}

// Service holds every binding in memory, written through to a Store.
type Service struct {
	cfg   Config
	store Store

	observer func(aor string, live bool) // see Observe
	aorLocks [64]sync.Mutex              // see aorLock

	mu       sync.Mutex
	bindings map[string][]Binding   // by AOR
	timers   map[string]*time.Timer // by AOR: fires when its last binding lapses
}

// Observe has f called whenever an address-of-record gains its first live
// binding or loses its last one, by REGISTER or by expiry. Call it before
// Load; f must not call back into the Service.
func (s *Service) Observe(f func(aor string, live bool)) { s.observer = f }

// New returns a Service; call Load before use.
func New(cfg Config, store Store) *Service {
	return &Service{cfg: cfg, store: store, bindings: make(map[string][]Binding), timers: make(map[string]*time.Timer)}
}

// Load reads stored bindings that have not expired.
func (s *Service) Load(ctx context.Context) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.store.LoadBindings(ctx, func(b Binding) error {
		if b.Expires.After(now) {
			s.bindings[b.AOR] = append(s.bindings[b.AOR], b)
		}
		return nil
	})
	for aor, bs := range s.bindings {
		s.watch(aor, bs)
		if s.observer != nil {
			s.observer(aor, true)
		}
	}
	return err
}

// Register applies a REGISTER (RFC 3261 §10.3) and returns the bindings of
// the AOR afterwards. Nothing changes when it returns an error. REGISTERs
// of one AOR are applied in turn; those of different AORs share nothing but
// the store's group commit.
func (s *Service) Register(ctx context.Context, r Request) ([]Binding, error) {
	if !s.cfg.serves(r.AOR) {
		return nil, fmt.Errorf("%w: %s", ErrNotServed, r.AOR)
	}
	lock := s.aorLock(r.AOR)
	lock.Lock()
	defer lock.Unlock()
	now := time.Now()
	s.mu.Lock()
	cur := live(s.bindings[r.AOR], now)
	s.mu.Unlock()
	if r.Wildcard {
		if len(r.Contacts) > 0 {
			return nil, ErrWildcard
		}
		for _, b := range cur {
			if b.CallID == r.CallID && r.CSeq <= b.CSeq {
				return nil, ErrOutOfOrder
			}
		}
		return nil, s.put(ctx, r.AOR, cur, nil)
	}
	next := slices.Clone(cur)
	for _, c := range r.Contacts {
		d, err := s.grant(c.Expires)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(next, func(b Binding) bool { return b.Contact == c.URI })
		if i >= 0 {
			if next[i].CallID == r.CallID && r.CSeq <= next[i].CSeq {
				return nil, ErrOutOfOrder
			}
			next = slices.Delete(next, i, i+1)
		}
		if d > 0 {
			next = append(next, Binding{AOR: r.AOR, Contact: c.URI, Expires: now.Add(d),
				CallID: r.CallID, CSeq: r.CSeq, Source: r.Source, Transport: r.Transport, Path: r.Path})
		}
	}
	if len(r.Contacts) == 0 {
		return cur, nil // a query (RFC 3261 §10.2.3)
	}
	if len(next) > s.cfg.MaxContacts && len(next) > len(cur) {
		return nil, &LimitError{Limit: "registrar.max_contacts", Max: s.cfg.MaxContacts}
	}
	if err := s.put(ctx, r.AOR, cur, next); err != nil {
		return nil, err
	}
	return next, nil
}

// Lookup returns the live bindings of aor.
func (s *Service) Lookup(aor string) []Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return live(s.bindings[aor], time.Now())
}

// put stores bs as the bindings of aor, which were cur, and tells the
// observer when the AOR came or went. The AOR's lock must be held; s.mu
// is not held across the store write or the observer.
func (s *Service) put(ctx context.Context, aor string, cur, bs []Binding) error {
	if err := s.store.PutBindings(ctx, aor, bs); err != nil {
		return fmt.Errorf("register %s: %w", aor, err)
	}
	s.set(aor, cur, bs)
	return nil
}

// set makes bs the bindings of aor in memory, which were cur, and tells
// the observer when the AOR came or went. The AOR's lock must be held.
func (s *Service) set(aor string, cur, bs []Binding) {
	s.mu.Lock()
	if len(bs) == 0 {
		delete(s.bindings, aor)
	} else {
		s.bindings[aor] = bs
	}
	s.watch(aor, bs)
	s.mu.Unlock()
	if was, now := len(cur) > 0, len(bs) > 0; now != was && s.observer != nil {
		s.observer(aor, now)
	}
}

// aorLock returns the lock that orders the changes of aor: one of a fixed
// set, chosen by hash, so memory stays bounded.
func (s *Service) aorLock(aor string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(aor))
	return &s.aorLocks[h.Sum32()%uint32(len(s.aorLocks))]
}

// watch arms a timer for the moment the last of bs lapses. s.mu must be held.
func (s *Service) watch(aor string, bs []Binding) {
	if t := s.timers[aor]; t != nil {
		t.Stop()
		delete(s.timers, aor)
	}
	var last time.Time
	for _, b := range bs {
		if b.Expires.After(last) {
			last = b.Expires
		}
	}
	if last.IsZero() {
		return
	}
	s.timers[aor] = time.AfterFunc(time.Until(last), func() {
		lock := s.aorLock(aor)
		lock.Lock()
		defer lock.Unlock()
		s.mu.Lock()
		gone := len(live(s.bindings[aor], time.Now())) == 0 && s.bindings[aor] != nil
		if gone {
			delete(s.bindings, aor)
			delete(s.timers, aor)
		}
		s.mu.Unlock()
		if gone && s.observer != nil {
			s.observer(aor, false)
		}
	})
}

func (s *Service) grant(req *time.Duration) (time.Duration, error) {
	switch {
	case req == nil:
		return s.cfg.DefaultExpires, nil
	case *req == 0:
		return 0, nil
	case *req < s.cfg.MinExpires:
		return 0, &IntervalTooBriefError{Min: s.cfg.MinExpires}
	case *req > s.cfg.MaxExpires:
		return s.cfg.MaxExpires, nil
	}
	return *req, nil
}

func live(bs []Binding, now time.Time) []Binding {
	out := make([]Binding, 0, len(bs))
	for _, b := range bs {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}
