package sip

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Bounds of what peers can make us log.
const (
	// maxLoggedValue bounds a string logged from a peer's input (sipgo's
	// "failed to parse" carries the whole datagram): an excerpt and its
	// length, never the whole.
	maxLoggedValue = 256
	// warnBurst records (info and above) of one message are logged per
	// warnPeriod; the next one logged after that says how many were
	// suppressed.
	warnBurst  = 10
	warnPeriod = time.Minute
)

// peerLogHandler wraps the handlers that log what peers cause (sipgo's,
// and ours while handling a request), so that a peer cannot fill the
// disk: input sipgo could not parse is logged at debug, every string
// attribute is cut to maxLoggedValue bytes, and records at info and above
// are rate-limited per message.
type peerLogHandler struct {
	next slog.Handler
	lim  *logLimiter
}

// libraryNoise reports whether a message of sipgo's says nothing an
// operator can act on: a peer's malformed datagram (screen answers what
// it refuses), or its connections' reference counts going below zero as
// listeners close at every stop.
func libraryNoise(msg string) bool {
	return msg == "failed to parse" || strings.Contains(msg, "ref went negative")
}

// PeerLogger returns a logger for what peers cause (sipgo's servers,
// clients and package-level default logger; the handling of a request)
// writing through base's handler, bounded as peerLogHandler says.
func PeerLogger(base *slog.Logger) *slog.Logger {
	return slog.New(peerLogHandler{next: base.Handler(), lim: &logLimiter{seen: map[string]*logCount{}}})
}

// Enabled implements slog.Handler: every level may be logged, at its own
// or at debug (Handle asks the next handler again).
func (h peerLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || l >= slog.LevelWarn
}

// Handle implements slog.Handler.
func (h peerLogHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if libraryNoise(r.Message) {
		level = slog.LevelDebug
	}
	if !h.next.Enabled(ctx, level) {
		return nil
	}
	var suppressed int
	if level >= slog.LevelInfo {
		ok, n := h.lim.allow(r.Message, r.Time)
		if !ok {
			return nil
		}
		suppressed = n
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(bounded(a))
		return true
	})
	if suppressed > 0 {
		out.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h peerLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for i := range attrs {
		attrs[i] = bounded(attrs[i])
	}
	return peerLogHandler{next: h.next.WithAttrs(attrs), lim: h.lim}
}

// WithGroup implements slog.Handler.
func (h peerLogHandler) WithGroup(name string) slog.Handler {
	return peerLogHandler{next: h.next.WithGroup(name), lim: h.lim}
}

// bounded cuts a long string value (or error text) to an excerpt.
func bounded(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindAny:
		err, ok := v.Any().(error)
		if !ok {
			return a
		}
		s = err.Error()
	default:
		return a
	}
	if len(s) <= maxLoggedValue {
		return a
	}
	return slog.String(a.Key, fmt.Sprintf("%q… (%d bytes)", s[:maxLoggedValue], len(s)))
}

// logLimiter lets warnBurst records of each message through per
// warnPeriod, counting the others.
type logLimiter struct {
	mu   sync.Mutex
	seen map[string]*logCount
}

type logCount struct {
	start              time.Time
	logged, suppressed int
}

// allow reports whether a record of msg at now is logged and, if so, how
// many were suppressed since the last one logged.
func (l *logLimiter) allow(msg string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.seen[msg]
	if c == nil {
		if len(l.seen) >= 1024 { // messages are sipgo's own texts: a few dozen
			clear(l.seen)
		}
		c = &logCount{start: now}
		l.seen[msg] = c
	}
	if now.Sub(c.start) >= warnPeriod {
		c.start, c.logged = now, 0
	}
	if c.logged >= warnBurst {
		c.suppressed++
		return false, 0
	}
	c.logged++
	n := c.suppressed
	c.suppressed = 0
	return true, n
}
