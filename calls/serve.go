package calls

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// hangupTimeout bounds the BYE to an agent when the call ends.
const hangupTimeout = 5 * time.Second

// serve owns call c from queued to ended.
func (m *Manager) serve(c *Call) {
	defer m.wg.Done()
	log := m.log.With("call_id", c.id, "group", c.group())
	reason := m.progress(c)
	m.finish(c, reason)
	log.Info("call ended", "reason", reason)
}

// progress waits in the queue and rings the agents the dispatcher picks
// until one answers and the call is bridged, and returns why it ended.
func (m *Manager) progress(c *Call) string {
	ready := c.media.Ready()
	for {
		select {
		case <-ready:
			ready = nil
			m.takeOver(c)
			m.signal() // now it may be routed
		case agent := <-c.offers:
			if reason, done := m.ring(c, agent); done {
				return reason
			}
		case <-c.media.Done():
			return c.media.Reason()
		case <-c.hangup:
			return ReasonVisitorHangup
		case <-m.stop:
			return ReasonShutdown
		}
	}
}

// ring calls agent (reserved by the dispatcher, or by a transfer). When
// the agent does not answer, the call goes back to the queue (done is
// false); when it answers, ring bridges the call until it ends, or until
// the agent transfers it (done is false: it rings or queues again).
func (m *Manager) ring(c *Call, agent string) (reason string, done bool) {
	log := m.log.With("call_id", c.id, "agent", agent)
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RingTimeout)
	defer cancel()
	gone := make(chan string, 1) // why the visitor's side ended meanwhile
	dialing := make(chan struct{})
	go func() {
		select {
		case <-c.media.Done():
			gone <- c.media.Reason()
		case <-c.hangup:
			gone <- ReasonVisitorHangup
		case <-m.stop:
			gone <- ReasonShutdown
		case <-dialing:
			return
		}
		cancel() // CANCEL the INVITE
	}()
	h := &legHandler{c: c, name: m.acd.AgentName(agent), uri: agent, hungUp: make(chan struct{})}
	offered := time.Now()
	leg, err := m.dialer.Dial(ctx, agent, c.agentOffer(), h)
	rang := time.Since(offered)
	close(dialing)
	var why string
	select {
	case why = <-gone:
	default:
	}
	bg := context.Background()
	switch {
	case why != "":
		m.acd.Release(bg, agent, c.item)
		if err == nil {
			m.hangupLeg(leg, Cause{}, log)
		}
		return why, true
	case err != nil:
		log.Info("agent did not take the call", "error", err)
		m.acd.Missed(bg, agent, c.item)
		m.requeueCall(c)
		return "", false
	}
	if err := c.media.Connect(leg.Answer()); err != nil {
		log.Warn("agent's answer unusable", "error", err)
		m.hangupLeg(leg, Cause{}, log)
		m.acd.Failed(bg, agent, c.item) // not the agent's miss
		m.requeueCall(c)
		return "", false
	}
	m.obs.Rang(rang)
	c.media.Hold(false) // after a transfer, the new agent is heard
	m.acd.Leave(c.group(), c.id, time.Now(), false)
	c.queued = false
	m.acd.Answered(bg, agent)
	c.update(func(v *View) {
		v.State, v.Agent, v.AgentURI, v.Position, v.EWT, v.Held = StateTalking, h.name, agent, 0, 0, false
	})
	log.Info("call bridged")
	reason, to := m.talk(c, agent, leg, h, log)
	if to == nil {
		return reason, true
	}
	m.transferTo(c, *to, log)
	return "", false
}

// takeOver ends the visitor's chat, if any, and offers c to the chat's
// agent ahead of the queue.
func (m *Manager) takeOver(c *Call) {
	if c.chat == "" {
		return
	}
	if agent := m.handOver(c.chat); agent != "" {
		m.acd.Handover(context.Background(), agent, c.item)
		if !c.offer(agent) {
			m.acd.Release(context.Background(), agent, c.item)
		}
	}
}

// requeueCall puts c back in the queue after an agent missed it: its
// place there, or, after a transfer, a place by its first arrival.
func (m *Manager) requeueCall(c *Call) {
	if !c.queued {
		if err := m.acd.Requeue(c.item, c.group()); err != nil {
			m.log.Error("requeue call", "call_id", c.id, "error", err)
		}
		c.queued = true
	}
	c.update(func(v *View) { v.State, v.Agent, v.AgentURI, v.Held = StateQueued, "", "", false })
	m.signal()
}

// talk relays chat until either side ends the bridged call, or the agent
// transfers it (to: the visitor hears the hold tone, the agent's leg is
// hung up, and the call goes on), and serves the agent's hold.
func (m *Manager) talk(c *Call, agent string, leg Leg, h *legHandler, log *slog.Logger) (reason string, to *Target) {
	start := time.Now()
	stopChat := make(chan struct{})
	var chat sync.WaitGroup
	chat.Go(func() {
		for {
			select {
			case msg := <-c.media.Chat():
				ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
				err := leg.Message(ctx, msg.Text)
				cancel()
				if err != nil {
					log.Warn("chat to agent", "error", err)
				}
				c.media.ChatResult(msg.ID, err)
			case <-stopChat:
				return
			}
		}
	})
	for reason == "" && to == nil {
		select {
		case <-h.hungUp:
			reason = ReasonAgentHangup
		case <-c.media.Done():
			reason = c.media.Reason()
		case <-c.hangup:
			reason = ReasonVisitorHangup
		case <-m.stop:
			reason = ReasonShutdown
		case r := <-c.requests:
			to = m.serveRequest(c, agent, r, log)
		}
	}
	close(stopChat)
	chat.Wait()
	if to != nil {
		c.media.Hold(true) // the visitor hears the hold tone until the next agent
		c.media.Disconnect()
	}
	if reason != ReasonAgentHangup {
		m.hangupLeg(leg, Cause{}, log)
	}
	talked := time.Since(start)
	m.obs.Talked(talked)
	m.acd.Ended(context.Background(), agent, c.group(), talked)
	outcome := reason
	if to != nil {
		outcome = "transferred"
	}
	m.record(agent, Handled{Kind: "call", ID: c.id, Group: c.group(), Visitor: c.agentOffer().Display, Start: start,
		Duration: talked, Outcome: outcome})
	return reason, to
}

// hangupLeg sends a BYE on leg, with why when it is not zero.
func (m *Manager) hangupLeg(leg Leg, why Cause, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	if err := leg.Hangup(ctx, why); err != nil {
		log.Warn("hang up agent", "error", err)
	}
}

// finish ends c: out of the queue, media closed, an agent it was about to
// ring released, the view ended, forgotten after KeepEnded.
func (m *Manager) finish(c *Call, reason string) {
	now := time.Now()
	m.acd.Leave(c.group(), c.id, now, true) // no-op once answered
	c.media.Close()
	c.update(func(v *View) { v.State, v.Reason, v.Position, v.EWT, v.Held = StateEnded, reason, 0, 0, false })
	close(c.over)
	select {
	case agent := <-c.offers:
		m.acd.Release(context.Background(), agent, c.item)
	default:
	}
	m.mu.Lock()
	m.ended[reason]++
	m.mu.Unlock()
	time.AfterFunc(m.cfg.KeepEnded, func() {
		m.mu.Lock()
		delete(m.calls, c.id)
		m.mu.Unlock()
	})
	m.signal()
}

// agentOffer is what c shows the agent's phone.
func (c *Call) agentOffer() Offer {
	display := c.visitor.Name
	if display == "" {
		display = "Web visitor"
	}
	return Offer{CallID: c.id, Display: display, Context: c.visitor.Context, SDP: c.media.AgentOffer()}
}

// legHandler hears the agent's side of one ring, and of the call after.
type legHandler struct {
	c         *Call
	name, uri string
	hungUp    chan struct{}
	once      sync.Once
}

func (h *legHandler) Ringing([]byte) {
	h.c.update(func(v *View) {
		if v.State == StateQueued {
			v.State, v.Agent, v.AgentURI, v.Position, v.EWT = StateRinging, h.name, h.uri, 0, 0
		}
	})
}

func (h *legHandler) Reoffer(offer []byte) ([]byte, error) { return h.c.media.Reoffer(offer) }

func (h *legHandler) Message(text string) { h.c.media.SendChat(text) }

func (h *legHandler) HungUp() { h.once.Do(func() { close(h.hungUp) }) }
