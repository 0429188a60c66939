package acd

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Publisher sends one presentity's document to the presence server (a SIP
// PUBLISH in the sip adapter), refreshing or replacing its earlier
// publication.
type Publisher interface {
	// Publish sends doc as presentity's state for event,
	// presence.EventPresence (PIDF) or presence.EventDialog (dialog-info).
	Publish(ctx context.Context, event, presentity string, doc []byte) error
}

// Store keeps every agent's last state and its transitions.
type Store interface {
	// SaveTransition stores the agent's new state and appends t to its history.
	SaveTransition(ctx context.Context, t Transition) error
	// LoadAgentStates calls fn with the last transition of every agent.
	LoadAgentStates(ctx context.Context, fn func(Transition) error) error
}

// Transition is one change of an agent's state.
type Transition struct {
	Agent    string    `json:"agent"`
	From, To State     `json:"-"`
	FromName string    `json:"from"`
	ToName   string    `json:"to"`
	At       time.Time `json:"at"`
	// ManualAway is the agent's own choice at that moment (agent API or
	// misses), the one input that lives only in the ACD, and Reason the
	// reason it gave.
	ManualAway bool   `json:"manual_away"`
	Reason     string `json:"reason,omitempty"`
}

// Clock is the time a Service reads and its timers (wrap-up ends): the
// system's by default, a simulation's virtual one in acd/sim.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func())
}

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time                      { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// Option changes how New builds a Service.
type Option func(*Service)

// WithClock makes the Service read time from c.
func WithClock(c Clock) Option { return func(s *Service) { s.clock = c } }

// Service is the customer support server's domain. Its methods are safe
// for concurrent use.
type Service struct {
	cfg   Config
	pub   Publisher
	store Store
	log   *slog.Logger
	clock Clock

	changed chan struct{}   // a state changed; a publish round is due
	watches []chan struct{} // see Changes

	mu     sync.Mutex
	agents map[string]*Agent // by URI
	groups []*group
}

type group struct {
	cfg   GroupConfig
	sched *schedule
	est   *Estimator
	queue []*Item
	today tally // visitors served and abandoned today (board.go)
}

// New returns a Service; Load restores stored states, Run publishes.
func New(cfg Config, pub Publisher, store Store, log *slog.Logger, opts ...Option) (*Service, error) {
	s := &Service{cfg: cfg, pub: pub, store: store, log: log, clock: systemClock{},
		changed: make(chan struct{}, 1), agents: make(map[string]*Agent)}
	for _, o := range opts {
		o(s)
	}
	now := s.clock.Now()
	for _, a := range cfg.Agents {
		s.agents[a.URI] = &Agent{Config: a, State: StateOffline, Since: now}
	}
	for _, g := range cfg.Groups {
		gr := &group{cfg: g, est: NewEstimator(cfg.Estimator)}
		if g.Hours != nil {
			sched, err := g.Hours.compile()
			if err != nil {
				return nil, fmt.Errorf("acd: group %s: %w", g.ID, err)
			}
			gr.sched = sched
		}
		s.groups = append(s.groups, gr)
	}
	return s, nil
}

// SetPublisher sets where Run publishes; call it before Run. (The SIP
// publisher can only be built once the SIP listeners are up, after New.)
func (s *Service) SetPublisher(p Publisher) { s.pub = p }

// Load restores what only the ACD knows of each agent, its own away
// choice, from the last stored transition. The other inputs (registrations,
// phone presence) are stored by their own services and reported again as
// they load, which re-derives every state; until then an agent counts as
// offline.
func (s *Service) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.LoadAgentStates(ctx, func(t Transition) error {
		if a := s.agents[t.Agent]; a != nil {
			a.ManualAway, a.AwayReason = t.ManualAway, t.Reason
		}
		return nil
	})
}

// Agent returns a copy of the agent with uri.
func (s *Service) Agent(uri string) (Agent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[uri]
	if a == nil {
		return Agent{}, false
	}
	return *a, true
}

// AgentName returns an agent's display name (its URI when it has none).
func (s *Service) AgentName(uri string) string {
	if a, ok := s.Agent(uri); ok && a.Config.Name != "" {
		return a.Config.Name
	}
	return uri
}

// AgentState returns the name of an agent's state and since when.
func (s *Service) AgentState(uri string) (string, time.Time, bool) {
	a, ok := s.Agent(uri)
	return a.State.String(), a.Since, ok
}

// IsAgent reports whether uri is a configured agent.
func (s *Service) IsAgent(uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agents[uri] != nil
}

// SetRegistered records whether the agent has a live registration.
func (s *Service) SetRegistered(ctx context.Context, uri string, live bool) {
	s.update(ctx, uri, func(a *Agent) { a.Registered = live })
}

// SetSoftphone records whether the agent has a browser softphone
// connected: a device like a registered phone, so either makes it online.
func (s *Service) SetSoftphone(ctx context.Context, uri string, live bool) {
	s.update(ctx, uri, func(a *Agent) { a.Softphone = live })
}

// SetPresence records what the agent's phone published.
func (s *Service) SetPresence(ctx context.Context, uri string, p Presence) {
	s.update(ctx, uri, func(a *Agent) { a.Presence = p })
}

// ErrOffline is returned by SetAway for an agent asked to be available
// whose phone is not registered and who has no softphone connected: it
// cannot take calls.
var ErrOffline = errors.New("the agent's phone is not registered")

// SetAway records the agent's own choice through the agent API: away, or
// back to available, which also ends a wrap-up early; away, with the id
// of one of the configured AwayReasons or "" (ErrUnknownReason for any
// other). The choice is kept (and stored) whatever the agent's state;
// being available while offline is refused with ErrOffline, the choice
// kept.
func (s *Service) SetAway(ctx context.Context, uri string, away bool, reason string) error {
	if _, ok := s.awayReason(reason); away && reason != "" && !ok {
		return fmt.Errorf("%w %q", ErrUnknownReason, reason)
	}
	if !away {
		reason = ""
	}
	offline := false
	s.update(ctx, uri, func(a *Agent) {
		a.ManualAway, a.AwayReason = away, reason
		offline = !away && !a.online()
		if !away {
			a.Misses = 0
			if a.Call == callWrapUp {
				a.Call = callNone
			}
		}
	})
	if offline {
		return ErrOffline
	}
	return nil
}

// AgentByToken returns the URI of the agent whose API token is token.
func (s *Service) AgentByToken(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := ""
	for uri, a := range s.agents { // compare every token, in constant time each
		if subtle.ConstantTimeCompare([]byte(a.Config.Token), []byte(token)) == 1 {
			found = uri
		}
	}
	return found, found != ""
}

// update applies change to an agent and derives its state. When the state
// or the agent's own away choice changed, it stores the transition; when
// the state changed, it also schedules a publish round and wakes the
// dispatchers.
func (s *Service) update(ctx context.Context, uri string, change func(*Agent)) {
	s.mu.Lock()
	a := s.agents[uri]
	if a == nil {
		s.mu.Unlock()
		return
	}
	wasWrapping, wasAway, wasReason := a.Call == callWrapUp, a.ManualAway, a.AwayReason
	change(a)
	now := s.clock.Now()
	if wasWrapping && a.Call != callWrapUp {
		s.wrappedUp(a, now)
	}
	if a.online() && a.IdleSince.IsZero() {
		a.IdleSince = now
	}
	from, to := a.State, a.derive(now)
	if from == to && wasAway == a.ManualAway && wasReason == a.AwayReason {
		s.mu.Unlock()
		return
	}
	if from != to {
		a.State, a.Since = to, now
	}
	t := Transition{Agent: uri, From: from, To: to, FromName: from.String(), ToName: to.String(), At: now,
		ManualAway: a.ManualAway, Reason: a.AwayReason}
	s.mu.Unlock()

	if err := s.store.SaveTransition(ctx, t); err != nil {
		s.log.Error("store agent transition", "agent", uri, "error", err)
	}
	if from == to && (to != StateAway || wasReason == a.AwayReason) {
		return // the choice alone changed: nothing to route or publish
	}
	s.log.Info("agent state", "agent", uri, "from", from, "to", to)
	s.signal(s.changed)
	s.mu.Lock()
	watches := s.watches
	s.mu.Unlock()
	for _, w := range watches {
		s.signal(w)
	}
}

// signal wakes whoever waits on c without ever blocking.
func (s *Service) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Changes returns a channel that receives (coalesced) whenever an agent's
// state changes, for a dispatcher that routes waiting visitors.
func (s *Service) Changes() <-chan struct{} {
	c := make(chan struct{}, 1)
	s.mu.Lock()
	s.watches = append(s.watches, c)
	s.mu.Unlock()
	return c
}
