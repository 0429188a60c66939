package presence

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/presence/pidf"
)

var (
	// ErrUnknownPresentity is returned for a presentity outside the served domains.
	ErrUnknownPresentity = errors.New("unknown presentity")
	// ErrConditionFailed is returned by Publish when the entity tag a refresh,
	// modify or remove names is unknown or has expired (RFC 3903 §6, step 4).
	ErrConditionFailed = errors.New("unknown or expired entity tag")
	// ErrNoBody is returned by Publish for an initial publication without a body.
	ErrNoBody = errors.New("initial publication without body")
	// ErrRemoveWithoutETag is returned by Publish for a removal (expiry 0)
	// that names no entity tag.
	ErrRemoveWithoutETag = errors.New("removal without SIP-If-Match")
	// ErrInvalidDocument is wrapped by every error about a publication's body.
	// The wrapping message names the problem.
	ErrInvalidDocument = pidf.ErrInvalid
	// ErrNotAllowed is returned by Subscribe when the watch policy does not
	// let the user watch the presentity (403 in SIP terms).
	ErrNotAllowed = errors.New("not allowed to watch this presentity")
	// ErrNoSuchSubscription is returned by Refresh and Flush for an unknown or
	// ended subscription.
	ErrNoSuchSubscription = errors.New("no such subscription")
	// ErrSubscriptionGone is returned by a Notifier when the watcher answered
	// that the subscription no longer exists (481) or did not answer at all;
	// the service then ends the subscription without a further notification.
	ErrSubscriptionGone = errors.New("subscription gone")
)

// LimitError is a request refused because it would take a presentity or a
// watcher past a configured cap; Limit names it as in the configuration.
type LimitError struct {
	Limit string
	Max   int
}

func (e *LimitError) Error() string { return fmt.Sprintf("over %s (%d)", e.Limit, e.Max) }

// IntervalTooBriefError is returned when a requested expiry is shorter than
// the configured minimum (a 423 in SIP terms).
type IntervalTooBriefError struct {
	Min time.Duration
}

func (e *IntervalTooBriefError) Error() string {
	return fmt.Sprintf("interval too brief: minimum is %s", e.Min)
}
