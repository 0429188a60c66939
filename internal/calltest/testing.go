package calltest

import (
	"context"
	"testing"
	"time"
)

// Wait bounds the waits of the test helpers.
const Wait = 10 * time.Second

// Context returns a context that ends after Wait or with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Wait)
	t.Cleanup(cancel)
	return ctx
}

// NewTestBrowser is NewBrowser that fails the test on error and closes the
// browser with it.
func NewTestBrowser(t testing.TB, opts BrowserOptions) *Browser {
	t.Helper()
	b, err := NewBrowser(opts)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// NewTestAgent is NewAgent (registered within Wait) that fails the test on
// error and closes the agent with it.
func NewTestAgent(t testing.TB, opts AgentOptions) *Agent {
	t.Helper()
	a, err := NewAgent(Context(t), opts)
	if err != nil {
		t.Fatalf("agent %s: %v", opts.User, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// Next waits up to Wait for the next value of ch, failing the test with
// what otherwise.
func Next[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(Wait)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// Closed waits up to Wait for ch to close (or deliver), failing the test
// with what otherwise.
func Closed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	Next(t, ch, what)
}

// NextEvent waits for the agent's next event of kind, skipping others.
func NextEvent(t testing.TB, a *Agent, kind EventKind) Event {
	t.Helper()
	deadline := time.NewTimer(Wait)
	defer deadline.Stop()
	for {
		select {
		case e := <-a.Events():
			if e.Kind == kind {
				return e
			}
		case <-deadline.C:
			t.Fatalf("timed out waiting for the agent's %s event", kind)
			return Event{}
		}
	}
}

// Eventually polls cond every 10 ms until it holds, failing the test with
// what after Wait.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := poll(Context(t), cond, func() string { return what }); err != nil {
		t.Fatal(err)
	}
}
