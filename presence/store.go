package presence

import (
	"context"
	"time"
)

// Publication is one device's published state for a presentity (RFC 3903 §2).
type Publication struct {
	// Presentity is the canonical URI, "sip:alice@example.com".
	Presentity string
	// Event is the event package published for: EventPresence (also
	// when empty) or EventDialog.
	Event string
	// ETag is the entity tag the publisher names in SIP-If-Match.
	ETag string
	// Expires is when the publication lapses unless refreshed.
	Expires time.Time
	// ContentType of Body, "application/pidf+xml" for presence.
	ContentType string
	// Body is the document as published.
	Body []byte
	// Seq orders publications service-wide: higher is newer, and the newest
	// publication wins a tuple during composition.
	Seq uint64
}

// Subscription is one watcher's interest in a presentity (RFC 6665 §4.1).
type Subscription struct {
	// ID is chosen by the adapter and stable for the subscription's life
	// (a SIP adapter uses the dialog identifier).
	ID string
	// Presentity is the canonical URI watched.
	Presentity string
	// Event is the event package watched: EventPresence (also when
	// empty) or EventDialog.
	Event string
	// Watcher identifies the subscriber, for logs and listings.
	Watcher string
	// Expires is when the subscription lapses unless refreshed.
	Expires time.Time
	// SeqReserved is the highest notification sequence number the store
	// vouches for: after a restart, numbering resumes above it.
	SeqReserved uint64
	// Dialog is the adapter's state for the subscription (for SIP: Call-ID,
	// tags, route set, remote target), stored and handed back verbatim.
	Dialog []byte
}

// Store keeps publications and subscriptions durable. Every method returns
// only once its write is durable; the service answers its caller after that.
type Store interface {
	// PutPublication stores p and, when replaces is not empty, removes the
	// publication of the same presentity with that entity tag, atomically.
	PutPublication(ctx context.Context, p Publication, replaces string) error
	// DeletePublication removes a publication; removing a missing one is no error.
	DeletePublication(ctx context.Context, presentity, etag string) error
	// PutSubscription stores or replaces the subscription with s.ID.
	PutSubscription(ctx context.Context, s Subscription) error
	// DeleteSubscription removes a subscription; removing a missing one is no error.
	DeleteSubscription(ctx context.Context, id string) error
	// LoadPublications calls fn for every stored publication.
	LoadPublications(ctx context.Context, fn func(Publication) error) error
	// LoadSubscriptions calls fn for every stored subscription.
	LoadSubscriptions(ctx context.Context, fn func(Subscription) error) error
	// Counts returns how many publications and subscriptions are
	// stored, for Load to size its indexes once.
	Counts(ctx context.Context) (publications, subscriptions int, err error)
}

// State is a subscription's state as a notification reports it (RFC 6665 §4.1.3).
type State int

const (
	// StateActive: the subscription goes on.
	StateActive State = iota + 1
	// StateTerminated: this is the last notification.
	StateTerminated
)

// String returns the Subscription-State value.
func (s State) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateTerminated:
		return "terminated"
	}
	return "unknown"
}

// ReasonTimeout is why a subscription that expired or was ended by its
// watcher terminates (RFC 6665 §4.1.3).
const ReasonTimeout = "timeout"

// Notification is what a Notifier delivers to one watcher.
type Notification struct {
	Subscription Subscription
	// Seq numbers the notifications of one subscription from 1; it never
	// goes backwards, also across restarts, though it may skip.
	Seq uint64
	// State is active or terminated.
	State State
	// Expires is the remaining lifetime, for an active subscription.
	Expires time.Duration
	// Reason says why a terminated subscription ended.
	Reason string
	// Body is the composed document of the subscription's event package
	// (ContentType tells its media type).
	Body []byte
}

// Notifier delivers notifications. Notify returns ErrSubscriptionGone when
// the watcher no longer has the subscription, and another error for a
// failure worth retrying at the next change.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}
