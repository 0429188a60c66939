package calls

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// attempt places callback cb through agent (reserved by the dispatcher):
// the agent first, then the visitor through the trunk, bridged until
// either hangs up. A visitor's leg that fails is retried after the
// spacing, up to the configured attempts.
func (m *Manager) attempt(cb *callback, agent string) {
	defer m.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cb.mu.Lock()
	if cb.rec.State != CallbackQueued { // taken or cancelled meanwhile
		cb.mu.Unlock()
		m.acd.Release(ctx, agent, cb.item)
		return
	}
	cb.cancel = cancel
	cb.mu.Unlock()
	defer func() {
		cb.mu.Lock()
		cb.cancel = nil
		cb.mu.Unlock()
		m.signal()
	}()
	go func() {
		select {
		case <-m.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	rec := cb.record()
	log := m.log.With("callback_id", rec.ID, "agent", agent)
	m.update(ctx, cb, func(r *Callback) { r.State, r.Agent = CallbackCalling, agent })

	if m.cb.trunkRate != nil {
		if ok, wait := m.cb.trunkRate.Allow("", time.Now()); !ok {
			log.Warn("callback attempt postponed", "limit", "callbacks.trunk_calls_per_minute", "retry_after", wait)
			m.cb.refused("callbacks.trunk_calls_per_minute")
			m.acd.Release(ctx, agent, cb.item)
			m.requeue(cb, time.Now().Add(wait), Attempt{At: time.Now(), Outcome: "postponed: over callbacks.trunk_calls_per_minute"})
			return
		}
	}
	pm, err := m.cb.bridger.Bridge()
	if err != nil {
		wait := time.Second // out of ports: not before a second, or the dispatcher would spin
		if errors.Is(err, ErrMediaFull) {
			m.cb.refused("media.max_calls")
			wait = 5 * time.Second
			log.Warn("callback attempt postponed", "limit", "media.max_calls", "retry_after", wait)
		} else {
			log.Error("callback media", "error", err)
		}
		m.acd.Release(ctx, agent, cb.item)
		m.requeue(cb, time.Now().Add(wait), Attempt{At: time.Now(), Agent: agent, Outcome: "postponed: " + err.Error()})
		return
	}
	defer pm.Close()

	agentSide := newPhoneHandler(pm.ReofferAgent, nil, nil)
	actx, acancel := context.WithTimeout(ctx, m.cfg.RingTimeout)
	leg, err := m.dialer.Dial(actx, agent, Offer{CallbackID: rec.ID, Display: "Callback " + rec.Phone,
		Phone: rec.Phone, Context: rec.Visitor.Context, SDP: pm.AgentOffer()}, agentSide)
	acancel()
	if err == nil {
		if err := pm.ConnectAgent(leg.Answer()); err != nil {
			log.Warn("agent's answer unusable", "error", err)
			m.hangupLeg(leg, Cause{Status: 488, Text: "Not Acceptable Here"}, log)
			m.acd.Failed(context.Background(), agent, cb.item) // not the agent's miss
			m.requeue(cb, time.Time{}, Attempt{At: time.Now(), Agent: agent, Outcome: "agent: " + err.Error()})
			return
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			m.acd.Release(context.Background(), agent, cb.item)
			m.settle(cb, log)
			return
		}
		log.Info("agent did not take the callback", "error", err)
		m.acd.Missed(context.Background(), agent, cb.item)
		m.requeue(cb, time.Time{}, Attempt{At: time.Now(), Agent: agent, Outcome: "agent: " + err.Error()})
		return
	}
	m.acd.Answered(context.Background(), agent)
	start := time.Now()
	m.bridgeVisitor(ctx, cb, agent, leg, agentSide, pm, log)
	m.acd.Ended(context.Background(), agent, rec.Group, time.Since(start))
}

// bridgeVisitor calls the visitor through the trunk while the agent
// listens, and bridges them until either hangs up.
func (m *Manager) bridgeVisitor(ctx context.Context, cb *callback, agent string, leg Leg, agentSide *phoneHandler,
	pm PhoneMedia, log *slog.Logger) {
	rec := cb.record()
	visitorSide := newPhoneHandler(pm.ReofferTrunk, pm.ConnectTrunk, pm.Ringback)
	tctx, tcancel := context.WithTimeout(ctx, m.cb.cfg.RingTimeout)
	// The agent hanging up while the visitor's phone rings gives up too.
	go func() {
		select {
		case <-agentSide.hungUp:
			tcancel()
		case <-tctx.Done():
		}
	}()
	tleg, err := m.cb.trunk.Dial(tctx, rec.Phone, Offer{SDP: pm.TrunkOffer()}, visitorSide)
	timedOut := errors.Is(tctx.Err(), context.DeadlineExceeded)
	tcancel()
	if err == nil {
		if err = pm.ConnectTrunk(tleg.Answer()); err != nil {
			m.hangupLeg(tleg, Cause{}, log)
		}
	}
	if err != nil {
		cause := Cause{Status: 480, Text: "Temporarily Unavailable"}
		var refusal interface{ Cause() Cause }
		switch {
		case errors.As(err, &refusal):
			cause = refusal.Cause()
		case timedOut:
			cause = Cause{Status: 408, Text: "Request Timeout"}
		case ctx.Err() != nil: // the visitor cancelled, or a stop
			cause = Cause{Status: 487, Text: "Request Terminated"}
		}
		select {
		case <-agentSide.hungUp: // the agent gave up: not the visitor's miss
			log.Info("agent hung up before the visitor answered")
			m.requeue(cb, time.Time{}, Attempt{At: time.Now(), Agent: agent, Outcome: "agent: hung up before the visitor answered"})
			return
		default:
		}
		log.Info("visitor not reached", "phone", rec.Phone, "cause", cause.Status, "error", err)
		m.hangupLeg(leg, cause, log) // the agent learns why (RFC 3326)
		if ctx.Err() != nil && !timedOut {
			m.settle(cb, log)
			return
		}
		attempt := Attempt{At: time.Now(), Agent: agent, Outcome: "visitor: " + strconv.Itoa(cause.Status) + " " + cause.Text}
		m.requeue(cb, time.Now().Add(m.cb.cfg.RetrySpacing), attempt)
		return
	}
	m.acd.Leave(rec.Group, rec.ID, time.Now(), false)
	m.update(ctx, cb, func(r *Callback) {
		r.State = CallbackTalking
		r.Attempts = append(r.Attempts, Attempt{At: time.Now(), Agent: agent, Outcome: "answered"})
	})
	log.Info("callback bridged", "phone", rec.Phone)
	start := time.Now()
	var ended string
	select {
	case <-agentSide.hungUp:
		ended = "agent"
		m.hangupLeg(tleg, Cause{}, log)
	case <-visitorSide.hungUp:
		ended = "visitor"
		m.hangupLeg(leg, Cause{}, log)
	case <-pm.Done():
		ended = ReasonMediaTimeout
		m.hangupLeg(leg, Cause{}, log)
		m.hangupLeg(tleg, Cause{}, log)
	case <-m.stop:
		ended = ReasonShutdown
		m.hangupLeg(leg, Cause{}, log)
		m.hangupLeg(tleg, Cause{}, log)
	}
	m.update(context.Background(), cb, func(r *Callback) { r.State = CallbackDone })
	outcome := map[string]string{"agent": ReasonAgentHangup, "visitor": ReasonVisitorHangup}[ended]
	if outcome == "" {
		outcome = ended
	}
	m.record(agent, Handled{Kind: "callback", ID: rec.ID, Group: rec.Group, Visitor: rec.Phone, Start: start,
		Duration: time.Since(start), Outcome: outcome})
	log.Info("callback ended", "hung_up_by", ended)
}

// requeue records attempt and returns cb to the queue, routable from
// next on; a callback whose visitor was called Attempts times fails.
func (m *Manager) requeue(cb *callback, next time.Time, attempt Attempt) {
	ctx := context.Background()
	failed := false
	m.update(ctx, cb, func(r *Callback) {
		r.Attempts = append(r.Attempts, attempt)
		r.State, r.Agent, r.NextTry = CallbackQueued, "", next
		if r.visitorTries() >= m.cb.cfg.Attempts {
			r.State, failed = CallbackFailed, true
		}
	})
	if failed {
		m.acd.Leave(cb.rec.Group, cb.rec.ID, time.Now(), true)
		return
	}
	m.acd.Release(ctx, "", cb.item)
}

// settle ends an attempt the visitor cancelled (the state says so) or a
// stop interrupted (it stays pending for the next start).
func (m *Manager) settle(cb *callback, log *slog.Logger) {
	if rec := cb.record(); rec.State == CallbackCancelled {
		m.acd.Leave(rec.Group, rec.ID, time.Now(), true)
		log.Info("callback cancelled by the visitor")
	}
}

// phoneHandler hears one phone leg of a callback.
type phoneHandler struct {
	reoffer func([]byte) ([]byte, error)
	early   func([]byte) error // early media; nil: ignored
	ringing func()             // ringing without early media; nil: ignored
	hungUp  chan struct{}
	once    sync.Once
}

func newPhoneHandler(reoffer func([]byte) ([]byte, error), early func([]byte) error, ringing func()) *phoneHandler {
	return &phoneHandler{reoffer: reoffer, early: early, ringing: ringing, hungUp: make(chan struct{})}
}

// Ringing relays early media when there is some, or plays ringback.
func (h *phoneHandler) Ringing(early []byte) {
	switch {
	case h.early != nil && len(early) > 0:
		h.early(early)
	case h.ringing != nil:
		h.ringing()
	}
}

func (h *phoneHandler) Reoffer(offer []byte) ([]byte, error) { return h.reoffer(offer) }

func (h *phoneHandler) Message(string) {}

func (h *phoneHandler) HungUp() { h.once.Do(func() { close(h.hungUp) }) }
