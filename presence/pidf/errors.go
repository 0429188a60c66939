package pidf

import "errors"

// ErrInvalid is wrapped by every validation error; the wrapped message names
// the problem in a few words fit for a SIP reason phrase, e.g.
// "invalid PIDF: tuple without id".
var ErrInvalid = errors.New("invalid PIDF")

// invalidError is a validation failure. Its text is the short reason; the
// underlying cause (an *xml.SyntaxError, say) stays reachable through
// errors.As for logging.
type invalidError struct {
	reason string
	cause  error
}

func (e *invalidError) Error() string { return ErrInvalid.Error() + ": " + e.reason }

func (e *invalidError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.cause}
}

func invalid(reason string, cause error) error { return &invalidError{reason, cause} }

// Reasons shared by several checks.
const (
	reasonMalformed = "malformed XML"
	reasonBasic     = "basic status must be open or closed"
)
