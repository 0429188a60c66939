package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

var (
	// ErrUnknownAgent is returned by Reserve for a URI that is not a
	// configured agent.
	ErrUnknownAgent = errors.New("unknown agent")
	// ErrAgentUnavailable is wrapped by an UnavailableError: the agent
	// cannot be rung now.
	ErrAgentUnavailable = errors.New("agent not available")
)

// UnavailableError is Reserve's refusal of an agent who is not available;
// State says where it stands (offline, away, busy, reserved, wrap-up).
type UnavailableError struct {
	Agent string
	State State
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s is %s", e.Agent, e.State)
}

// Unwrap makes errors.Is(err, ErrAgentUnavailable) hold.
func (e *UnavailableError) Unwrap() error { return ErrAgentUnavailable }

// Reserve reserves agent uri for item it, as Route and Offer would, but
// for an agent chosen by hand (a blind transfer): only when the agent is
// available now, whatever its skills. Otherwise it returns ErrUnknownAgent
// or an UnavailableError, and nothing changes. One of Answered, Missed,
// Failed or Release then settles it, as after Offer.
func (s *Service) Reserve(ctx context.Context, uri string, it *Item) error {
	var refused *UnavailableError
	found := false
	s.update(ctx, uri, func(a *Agent) {
		found = true
		if st := a.derive(s.clock.Now()); st != StateAvailable {
			refused = &UnavailableError{Agent: uri, State: st}
			return
		}
		a.Call, a.Dialog = callReserved, it.ID
	})
	switch {
	case !found:
		return fmt.Errorf("%w: %s", ErrUnknownAgent, uri)
	case refused != nil:
		return refused
	}
	s.mu.Lock()
	it.offered = true
	s.mu.Unlock()
	return nil
}

// Requeue puts item it, which an agent had answered, back in a queue:
// group's (its own or another), with its first arrival time, so that it
// goes ahead of everyone who came after it (a transferred visitor does
// not lose its place). It is admitted whatever the group's hours and
// queue limit (the visitor was admitted once), is not counted as an
// arrival, and prefers no agent any more. ErrUnknownGroup for a group
// that is not configured.
func (s *Service) Requeue(it *Item, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(group)
	if g == nil {
		return fmt.Errorf("%w: %s", ErrUnknownGroup, group)
	}
	if slices.Contains(g.queue, it) {
		return nil
	}
	it.Group, it.Preferred, it.offered = group, "", false
	g.insert(it)
	return nil
}

// AgentStatus is one agent as a roster shows it.
type AgentStatus struct {
	URI, Name string
	State     State
}

// Agents returns every configured agent's state at now, by URI.
func (s *Service) Agents(now time.Time) []AgentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AgentStatus, 0, len(s.agents))
	for uri, a := range s.agents {
		out = append(out, AgentStatus{URI: uri, Name: a.Config.Name, State: a.derive(now)})
	}
	slices.SortFunc(out, func(a, b AgentStatus) int { return strings.Compare(a.URI, b.URI) })
	return out
}
