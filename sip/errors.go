package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/presence"
)

// respondError turns a domain error into its SIP response: the one place
// where domain errors meet status codes.
func (x *exchange) respondError(err error) {
	var brief *presence.IntervalTooBriefError
	var briefReg *location.IntervalTooBriefError
	var limit *presence.LimitError
	var limitReg *location.LimitError
	switch {
	case errors.As(err, &limit):
		x.refuse(limit.Limit, limit.Max)
	case errors.As(err, &limitReg):
		x.refuse(limitReg.Limit, limitReg.Max)
	case errors.Is(err, presence.ErrNotAllowed):
		x.respond(403, "Not Allowed To Watch", nil)
	case errors.Is(err, location.ErrNotServed):
		x.respond(404, "Domain Not Served", nil)
	case errors.As(err, &brief):
		x.respond(423, "Interval Too Brief", nil, minExpires(brief.Min.Seconds()))
	case errors.As(err, &briefReg):
		x.respond(423, "Interval Too Brief", nil, minExpires(briefReg.Min.Seconds()))
	case errors.Is(err, presence.ErrUnknownPresentity):
		x.respond(404, "Not Found", nil)
	case errors.Is(err, presence.ErrConditionFailed):
		x.respond(412, "Conditional Request Failed", nil)
	case errors.Is(err, presence.ErrNoSuchSubscription):
		x.respond(481, "Subscription Does Not Exist", nil)
	case errors.Is(err, presence.ErrInvalidDocument),
		errors.Is(err, presence.ErrNoBody),
		errors.Is(err, presence.ErrRemoveWithoutETag),
		errors.Is(err, location.ErrWildcard):
		x.respond(400, reasonPhrase(err.Error()), nil)
	case errors.Is(err, location.ErrOutOfOrder):
		// RFC 3261 §10.3 step 7 aborts an out-of-order update without a
		// dedicated code; 500 tells the UA to try again in order.
		x.respond(500, "Out-of-order Registration", nil)
	default:
		x.log.Error("sip request failed", "method", x.req.Method, "call_id", callID(x.req), "error", err)
		x.respond(500, "Server Internal Error", nil, sipmsg.NewHeader("Retry-After", "5"))
	}
}

// refuse answers a request that a configured cap refuses: 403, its reason
// phrase and a Warning (RFC 3261 §20.43) naming the limit, counted in
// switchboard_refused_total.
func (x *exchange) refuse(limit string, max int) {
	x.s.metrics.refused.WithLabelValues(limit).Inc()
	x.respond(403, "Over "+limit, nil,
		sipmsg.NewHeader("Warning", fmt.Sprintf(`399 switchboard "%s is %d"`, limit, max)))
}

func minExpires(seconds float64) sipmsg.Header {
	return sipmsg.NewHeader("Min-Expires", strconv.Itoa(int(seconds)))
}

// reasonPhrase makes text safe as a reason phrase: printable, one line,
// capitalised, and short.
func reasonPhrase(text string) string {
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	if len(text) > 120 {
		text = text[:120]
	}
	if text == "" {
		return "Bad Request"
	}
	return strings.ToUpper(text[:1]) + text[1:]
}
