package presence

import (
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/presence/dialoginfo"
	"github.com/switchboard/switchboard/presence/pidf"
)

// Event packages served (RFC 6665 §7.2): a resource is a URI watched for
// one of them, with publications and subscriptions of its own.
const (
	EventPresence = "presence" // RFC 3856: PIDF documents
	EventDialog   = "dialog"   // RFC 4235: dialog-info documents, for BLF keys
)

// ErrBadEvent is returned for an event package this server does not serve
// (489 Bad Event in SIP terms).
var ErrBadEvent = errors.New("unsupported event package")

// eventPackage is what differs between the packages: how a published
// document is checked, how publications compose, and how a notification's
// body is finished.
type eventPackage struct {
	contentType string
	// parse validates a published body for entity.
	parse func(body []byte, entity string, maxBytes int) (any, error)
	// compose merges the parsed publications, oldest first; none gives
	// the document of a resource nobody publishes.
	compose func(entity string, docs []any) []byte
	// stamp finishes the body of one notification of a subscription, its
	// seq-th; nil when the body is sent as composed.
	stamp func(doc []byte, seq uint64) []byte
}

var packages = map[string]*eventPackage{
	EventPresence: {
		contentType: "application/pidf+xml",
		parse: func(body []byte, entity string, maxBytes int) (any, error) {
			return pidf.ParseDocument(body, entity, pidf.Limits{MaxBytes: maxBytes})
		},
		compose: func(entity string, docs []any) []byte {
			return pidf.Compose(entity, typed[*pidf.Document](docs))
		},
	},
	EventDialog: {
		contentType: dialoginfo.ContentType,
		parse: func(body []byte, entity string, maxBytes int) (any, error) {
			d, err := dialoginfo.ParseDocument(body, entity, dialoginfo.Limits{MaxBytes: maxBytes})
			if err != nil {
				return nil, &invalidDocumentError{err}
			}
			return d, nil
		},
		compose: func(entity string, docs []any) []byte {
			return dialoginfo.Compose(entity, typed[*dialoginfo.Document](docs))
		},
		// RFC 4235 §4.1: version counts the NOTIFYs of a subscription
		// from 0.
		stamp: func(doc []byte, seq uint64) []byte { return dialoginfo.WithVersion(doc, seq-1) },
	},
}

// packageOf returns the package of event; "" is presence, as in records
// stored before events were told apart.
func packageOf(event string) (*eventPackage, error) {
	if event == "" {
		event = EventPresence
	}
	if p := packages[event]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrBadEvent, event)
}

// ContentType is the media type of event's documents, "" for a package
// not served.
func ContentType(event string) string {
	if p := packages[event]; p != nil {
		return p.contentType
	}
	return ""
}

func typed[T any](docs []any) []T {
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i], _ = d.(T)
	}
	return out
}

// invalidDocumentError is a parser's refusal of a body, reported as
// ErrInvalidDocument with the parser's own words.
type invalidDocumentError struct{ err error }

func (e *invalidDocumentError) Error() string   { return e.err.Error() }
func (e *invalidDocumentError) Unwrap() []error { return []error{ErrInvalidDocument, e.err} }
