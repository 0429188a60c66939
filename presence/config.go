package presence

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Config bounds what the presence server accepts.
type Config struct {
	// Domains are the hosts whose presentities this server keeps, for example
	// "example.com": a PUBLISH or SUBSCRIBE for any other host is refused.
	Domains []string `yaml:"domains"`
	// PublishMinExpires is the shortest publication lifetime accepted; shorter
	// requests get 423 with Min-Expires.
	PublishMinExpires time.Duration `yaml:"publish_min_expires"`
	// PublishMaxExpires caps a publication's lifetime; longer requests are
	// granted this much.
	PublishMaxExpires time.Duration `yaml:"publish_max_expires"`
	// PublishDefaultExpires applies when a PUBLISH has no Expires header.
	PublishDefaultExpires time.Duration `yaml:"publish_default_expires"`
	// SubscribeMinExpires is the shortest subscription accepted (besides 0, a fetch).
	SubscribeMinExpires time.Duration `yaml:"subscribe_min_expires"`
	// SubscribeMaxExpires caps a subscription's lifetime.
	SubscribeMaxExpires time.Duration `yaml:"subscribe_max_expires"`
	// SubscribeDefaultExpires applies when a SUBSCRIBE has no Expires header
	// (RFC 3856 §6.4: 3600 seconds).
	SubscribeDefaultExpires time.Duration `yaml:"subscribe_default_expires"`
	// MinNotifyInterval is the least time between two notifications to one
	// watcher; changes in between are coalesced into the next one.
	MinNotifyInterval time.Duration `yaml:"min_notify_interval"`
	// NotifyWindow caps the notifications waiting for their answer at
	// once; the others wait for a place, in order.
	NotifyWindow int `yaml:"notify_window"`
	// MaxDocumentBytes caps a published document's size.
	MaxDocumentBytes int `yaml:"max_document_bytes"`
	// MaxPublications caps the live publications of one presentity (per
	// event package): devices of one user, not an unbounded set.
	MaxPublications int `yaml:"max_publications"`
	// MaxPresentityBytes caps the documents of one presentity (per event
	// package) together, so that its composed document, sent to every
	// watcher, stays small.
	MaxPresentityBytes int `yaml:"max_presentity_bytes"`
	// MaxSubscriptionsPerWatcher caps the live subscriptions of one
	// watcher (its From URI); MaxSubscriptionsPerPresentity those to one
	// presentity.
	MaxSubscriptionsPerWatcher    int `yaml:"max_subscriptions_per_watcher"`
	MaxSubscriptionsPerPresentity int `yaml:"max_subscriptions_per_presentity"`
	// WatchPolicy says who may watch whom (a small RFC 5025): "domain",
	// the default, lets every authenticated user of the served domains
	// watch any presentity; "list" lets a user watch itself, the
	// presentities of Public, and those whose Watchers name it.
	WatchPolicy string `yaml:"watch_policy"`
	// Watchers lists, by presentity URI, the user names that may watch it
	// under the "list" policy.
	Watchers map[string][]string `yaml:"watchers"`
	// Public are presentities every authenticated user may watch under
	// the "list" policy, such as the groups a wallboard shows.
	Public []string `yaml:"public"`
}

// Defaults for Config.
const (
	DefaultPublishMinExpires       = 60 * time.Second
	DefaultPublishMaxExpires       = 2 * time.Hour
	DefaultPublishDefaultExpires   = time.Hour
	DefaultSubscribeMinExpires     = 60 * time.Second
	DefaultSubscribeMaxExpires     = 2 * time.Hour
	DefaultSubscribeDefaultExpires = time.Hour
	DefaultMinNotifyInterval       = 200 * time.Millisecond
	DefaultNotifyWindow            = 1000
	DefaultMaxDocumentBytes        = 64 << 10
	DefaultMaxPublications         = 8
	DefaultMaxPresentityBytes      = 128 << 10
	DefaultMaxSubsPerWatcher       = 200
	DefaultMaxSubsPerPresentity    = 2000
)

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Domains:                 []string{"example.com"},
		PublishMinExpires:       DefaultPublishMinExpires,
		PublishMaxExpires:       DefaultPublishMaxExpires,
		PublishDefaultExpires:   DefaultPublishDefaultExpires,
		SubscribeMinExpires:     DefaultSubscribeMinExpires,
		SubscribeMaxExpires:     DefaultSubscribeMaxExpires,
		SubscribeDefaultExpires: DefaultSubscribeDefaultExpires,
		MinNotifyInterval:       DefaultMinNotifyInterval,
		NotifyWindow:            DefaultNotifyWindow,
		MaxDocumentBytes:        DefaultMaxDocumentBytes,

		MaxPublications:               DefaultMaxPublications,
		MaxPresentityBytes:            DefaultMaxPresentityBytes,
		MaxSubscriptionsPerWatcher:    DefaultMaxSubsPerWatcher,
		MaxSubscriptionsPerPresentity: DefaultMaxSubsPerPresentity,
	}
}

// Validate reports the first invalid field, named as in the YAML file under
// prefix (for example "presence").
func (c Config) Validate(prefix string) error {
	if len(c.Domains) == 0 {
		return fmt.Errorf("%s.domains: at least one domain is required", prefix)
	}
	for i, d := range c.Domains {
		if d == "" || strings.ContainsAny(d, " @:;/") {
			return fmt.Errorf("%s.domains[%d]: %q is not a host name", prefix, i, d)
		}
	}
	checks := []struct {
		name string
		min  time.Duration
		v    time.Duration
		max  time.Duration
	}{
		{"publish_min_expires", time.Second, c.PublishMinExpires, c.PublishDefaultExpires},
		{"publish_default_expires", c.PublishMinExpires, c.PublishDefaultExpires, c.PublishMaxExpires},
		{"subscribe_min_expires", time.Second, c.SubscribeMinExpires, c.SubscribeDefaultExpires},
		{"subscribe_default_expires", c.SubscribeMinExpires, c.SubscribeDefaultExpires, c.SubscribeMaxExpires},
	}
	for _, k := range checks {
		if k.v < k.min || k.v > k.max {
			return fmt.Errorf("%s.%s: %s must lie between %s and %s", prefix, k.name, k.v, k.min, k.max)
		}
	}
	if c.MinNotifyInterval < 0 {
		return fmt.Errorf("%s.min_notify_interval: must not be negative", prefix)
	}
	if c.MaxDocumentBytes < 512 {
		return errors.New(prefix + ".max_document_bytes: must be at least 512")
	}
	for _, k := range []struct {
		name string
		v    int
	}{{"notify_window", c.NotifyWindow}, {"max_publications", c.MaxPublications}, {"max_subscriptions_per_watcher", c.MaxSubscriptionsPerWatcher},
		{"max_subscriptions_per_presentity", c.MaxSubscriptionsPerPresentity}} {
		if k.v < 1 {
			return fmt.Errorf("%s.%s: must be at least 1", prefix, k.name)
		}
	}
	if c.WatchPolicy != "" && c.WatchPolicy != WatchDomain && c.WatchPolicy != WatchList {
		return fmt.Errorf("%s.watch_policy: %q is neither %s nor %s", prefix, c.WatchPolicy, WatchDomain, WatchList)
	}
	if c.MaxPresentityBytes < c.MaxDocumentBytes {
		return fmt.Errorf("%s.max_presentity_bytes: must be at least max_document_bytes (%d)", prefix, c.MaxDocumentBytes)
	}
	return nil
}

// Watch policies (Config.WatchPolicy).
const (
	WatchDomain = "domain"
	WatchList   = "list"
)

// mayWatch reports whether user (authenticated; "" without
// authentication) may watch presentity.
func (c Config) mayWatch(user, presentity string) bool {
	if c.WatchPolicy != WatchList {
		return true
	}
	if user != "" && strings.HasPrefix(presentity, "sip:"+user+"@") {
		return true
	}
	return slices.Contains(c.Public, presentity) || (user != "" && slices.Contains(c.Watchers[presentity], user))
}

// serves reports whether host is one of the configured domains.
func (c Config) serves(host string) bool {
	for _, d := range c.Domains {
		if strings.EqualFold(d, host) {
			return true
		}
	}
	return false
}
