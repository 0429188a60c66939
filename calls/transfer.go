package calls

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/acd"
)

var (
	// ErrNotTalking is returned by Hold and Transfer when the agent has
	// no call it is talking on.
	ErrNotTalking = errors.New("the agent is not talking with a visitor")
	// ErrNoTarget is returned by Transfer without exactly one of an
	// agent and a group.
	ErrNoTarget = errors.New("a transfer names an agent or a group")
)

// requestTimeout bounds how long Hold and Transfer wait for the call's
// goroutine: it answers at once while the call talks.
const requestTimeout = 5 * time.Second

// Target is where a blind transfer sends a call: an agent (its
// address-of-record) or a group (its id), one of the two.
type Target struct {
	Agent, Group string
}

// request is the talking agent's hold or transfer, served by the call's
// goroutine (talk), which replies at once.
type request struct {
	from  string
	hold  *bool
	to    *Target
	reply chan error
}

// Hold holds (held) or resumes agent's talking call from Switchboard's
// side: the visitor hears the hold tone, the agent silence, and the
// call's view says Held. ErrNotTalking when the agent talks with nobody.
func (m *Manager) Hold(ctx context.Context, agent string, held bool) error {
	return m.request(ctx, agent, request{hold: &held})
}

// Transfer hands agent's talking call over to another agent or a group
// (a blind transfer): the visitor hears the hold tone, the agent's leg
// is hung up and the agent wraps up, and the call, keeping its id,
// rings the target agent or queues in the target group with its first
// arrival time. An agent who does not answer a transfer sends the call
// back to its group's queue, by its first arrival.
//
// It returns once the transfer is under way, or refused: ErrNotTalking,
// ErrNoTarget, acd.ErrUnknownAgent, acd.ErrUnknownGroup, an
// *acd.UnavailableError (the agent is offline, away or busy), or a
// *RefusedError (the group is closed or nobody serves it).
func (m *Manager) Transfer(ctx context.Context, agent string, to Target) error {
	if (to.Agent == "") == (to.Group == "") {
		return ErrNoTarget
	}
	return m.request(ctx, agent, request{to: &to})
}

// request hands r to the goroutine of agent's talking call and returns
// its reply.
func (m *Manager) request(ctx context.Context, agent string, r request) error {
	c := m.talkingWith(agent)
	if c == nil {
		return ErrNotTalking
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	r.from, r.reply = agent, make(chan error, 1)
	select {
	case c.requests <- r:
		return <-r.reply
	case <-c.over:
		return ErrNotTalking
	case <-ctx.Done():
		return ErrNotTalking // it stopped talking with this agent meanwhile
	}
}

// talkingWith finds the call agent talks on, nil when none.
func (m *Manager) talkingWith(agent string) *Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.calls {
		if v, _ := c.View(); v.State == StateTalking && v.AgentURI == agent {
			return c
		}
	}
	return nil
}

// serveRequest serves a request of the agent talking on c and returns the
// target of an accepted transfer (nil otherwise).
func (m *Manager) serveRequest(c *Call, agent string, r request, log *slog.Logger) *Target {
	switch {
	case r.from != agent:
		r.reply <- ErrNotTalking
	case r.hold != nil:
		c.media.Hold(*r.hold)
		c.update(func(v *View) { v.Held = *r.hold })
		log.Info("call hold", "held", *r.hold)
		r.reply <- nil
	default:
		err := m.admitTransfer(c, *r.to)
		r.reply <- err
		if err == nil {
			log.Info("call transferred", "to_agent", r.to.Agent, "to_group", r.to.Group)
			return r.to
		}
	}
	return nil
}

// admitTransfer checks that c can go to the target: a target agent is
// reserved for it; a target group must be open with someone serving it
// (a full queue takes it all the same: the visitor was admitted once).
func (m *Manager) admitTransfer(c *Call, to Target) error {
	if to.Agent != "" {
		return m.acd.Reserve(context.Background(), to.Agent, c.item)
	}
	err := m.accepting(to.Group, time.Now())
	var refused *RefusedError
	if errors.As(err, &refused) && errors.Is(refused.Err, acd.ErrQueueFull) {
		return nil
	}
	return err
}

// transferTo sends c, whose agent's leg has ended, to the target of its
// transfer: it rings the reserved agent (through the offers the progress
// loop takes), or queues in the group.
func (m *Manager) transferTo(c *Call, to Target, log *slog.Logger) {
	if to.Agent != "" {
		name := m.acd.AgentName(to.Agent)
		c.update(func(v *View) { v.State, v.Agent, v.AgentURI, v.Held = StateRinging, name, to.Agent, false })
		if !c.offer(to.Agent) {
			m.acd.Release(context.Background(), to.Agent, c.item)
		}
		return
	}
	if err := m.acd.Requeue(c.item, to.Group); err != nil {
		log.Error("transfer to group", "group", to.Group, "error", err)
		to.Group = c.group()
		m.acd.Requeue(c.item, to.Group)
	}
	c.queued = true
	c.update(func(v *View) { v.State, v.Group, v.Agent, v.AgentURI, v.Held = StateQueued, to.Group, "", "", false })
	m.refresh(c, time.Now())
	m.signal()
}
