package calls

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CallbackState is where a callback stands (docs/callbacks.md).
type CallbackState string

// The states of a callback.
const (
	CallbackQueued    CallbackState = "queued"    // waiting, also between attempts
	CallbackCalling   CallbackState = "calling"   // the agent's or the visitor's phone rings
	CallbackTalking   CallbackState = "talking"   // agent and visitor bridged
	CallbackDone      CallbackState = "done"      // talked, or taken by hand and marked done
	CallbackFailed    CallbackState = "failed"    // attempts exhausted
	CallbackCancelled CallbackState = "cancelled" // by the visitor
	CallbackTaken     CallbackState = "taken"     // an agent took it by hand
)

// Callback is a visitor's request to be called back, as stored.
type Callback struct {
	ID      string        `json:"id"`
	Group   string        `json:"group"`
	Phone   string        `json:"phone"` // E.164
	Name    string        `json:"name,omitempty"`
	Visitor Visitor       `json:"visitor"`
	State   CallbackState `json:"state"`
	// Enqueued orders the queue, also across restarts.
	Enqueued time.Time `json:"enqueued"`
	// NextTry is when a retry may be routed.
	NextTry time.Time `json:"next_try"`
	// Agent took it by hand or talks with the visitor.
	Agent    string    `json:"agent,omitempty"`
	Attempts []Attempt `json:"attempts,omitempty"`
	Updated  time.Time `json:"updated"`
}

// Attempt is one try to connect agent and visitor.
type Attempt struct {
	At    time.Time `json:"at"`
	Agent string    `json:"agent"`
	// Outcome: "answered", "agent: <why>" (the agent did not answer: the
	// callback goes to the next agent at once), "visitor: <status>" (the
	// visitor's leg failed: counted against the attempts).
	Outcome string `json:"outcome"`
}

// visitorTries counts the attempts that reached the trunk.
func (cb *Callback) visitorTries() int {
	n := 0
	for _, a := range cb.Attempts {
		if a.Outcome == "answered" || len(a.Outcome) > 8 && a.Outcome[:8] == "visitor:" {
			n++
		}
	}
	return n
}

// pending reports whether the callback still waits for a call.
func (cb *Callback) pending() bool {
	return cb.State == CallbackQueued || cb.State == CallbackCalling || cb.State == CallbackTalking
}

// over reports whether the callback reached an end.
func (cb *Callback) over() bool {
	return cb.State == CallbackDone || cb.State == CallbackFailed || cb.State == CallbackCancelled
}

// CallbackStore keeps callbacks durable.
type CallbackStore interface {
	// SaveCallback stores cb, replacing its last version.
	SaveCallback(ctx context.Context, cb Callback) error
	// LoadCallbacks calls fn with every stored callback.
	LoadCallbacks(ctx context.Context, fn func(Callback) error) error
}

// CallbackConfig tunes callbacks.
type CallbackConfig struct {
	// Enabled turns callbacks on (a trunk must be configured).
	Enabled bool `yaml:"enabled"`
	// Phone says which numbers are called.
	Phone PhonePolicy `yaml:"phone"`
	// Attempts is how many times the visitor's phone is called before
	// the callback fails.
	Attempts int `yaml:"attempts"`
	// RetrySpacing is the wait before a callback whose visitor did not
	// answer is routed again.
	RetrySpacing time.Duration `yaml:"retry_spacing"`
	// RingTimeout is how long the visitor's phone rings.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// PerVisitor and PerIP cap the requests of one visitor and of one
	// address within RateWindow (the web facade counts those); PerNumber
	// caps the requests to call one number back, whoever asks: a site's
	// form must not become a way to ring someone's phone again and again.
	PerVisitor int           `yaml:"per_visitor"`
	PerIP      int           `yaml:"per_ip"`
	PerNumber  int           `yaml:"per_number"`
	RateWindow time.Duration `yaml:"rate_window"`
	// PerRegionPerDay caps the callbacks requested to the numbers of one
	// region (ISO 3166 country, from the number's prefix) per day: a
	// campaign of calls to one country stops there, whatever the
	// numbers. 0: no cap.
	PerRegionPerDay int `yaml:"per_region_per_day"`
	// TrunkCallsPerMinute caps the callback attempts of all visitors
	// together per minute, counted when an attempt starts (its agent is
	// rung, then the visitor through the trunk); past it an attempt waits
	// for the next minute, not counted as the visitor's. 0: no cap.
	TrunkCallsPerMinute int `yaml:"trunk_calls_per_minute"`
}

// Validate names the first bad field, prefixed by prefix (e.g. "callbacks").
func (c CallbackConfig) Validate(prefix string) error {
	switch {
	case !c.Enabled:
		return nil
	case c.Attempts < 1:
		return fmt.Errorf("%s.attempts: at least 1", prefix)
	case c.RetrySpacing < 0:
		return fmt.Errorf("%s.retry_spacing: must not be negative", prefix)
	case c.RingTimeout <= 0:
		return fmt.Errorf("%s.ring_timeout: must be positive", prefix)
	case c.PerVisitor < 1 || c.PerIP < 1:
		return fmt.Errorf("%s.per_visitor, per_ip: at least 1", prefix)
	case c.PerNumber < 1:
		return fmt.Errorf("%s.per_number: at least 1", prefix)
	case c.RateWindow <= 0:
		return fmt.Errorf("%s.rate_window: must be positive", prefix)
	case c.PerRegionPerDay < 0 || c.TrunkCallsPerMinute < 0:
		return fmt.Errorf("%s.per_region_per_day, trunk_calls_per_minute: must not be negative", prefix)
	}
	return c.Phone.Validate(prefix + ".phone")
}

var (
	// ErrUnknownCallback is returned for a callback id that is not known.
	ErrUnknownCallback = errors.New("unknown callback")
	// ErrCallbackState is returned for an action the callback's state
	// does not allow (taking one that is not queued, cancelling one in
	// progress).
	ErrCallbackState = errors.New("not possible in the callback's state")
	// ErrCallbacksOff is returned when callbacks are not enabled.
	ErrCallbacksOff = errors.New("callbacks are not enabled")
)

// RateLimitedError is a request refused by a limit, named as in the
// configuration (e.g. "callbacks.per_number"), until RetryAfter.
type RateLimitedError struct {
	Limit      string
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("over the %s limit: retry after %s", e.Limit, e.RetryAfter.Round(time.Second))
}
