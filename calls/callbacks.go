package calls

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/internal/ratelimit"
)

// callback is a callback the manager holds: its record, its queue item,
// and the cancel of the attempt in progress.
type callback struct {
	item *acd.Item

	mu     sync.Mutex
	rec    Callback
	cancel context.CancelFunc // of the attempt in progress, nil between attempts
}

func (cb *callback) record() Callback {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	rec := cb.rec
	rec.Attempts = slices.Clone(rec.Attempts)
	return rec
}

// CallbackRequest asks for a callback.
type CallbackRequest struct {
	Group string
	// Phone as the visitor typed it.
	Phone   string
	Name    string
	Visitor Visitor
}

// CallbackView is a callback with its place in the queue.
type CallbackView struct {
	Callback
	// Position (1 is next), EWT and its Band, while queued.
	Position int
	EWT      time.Duration
	Band     string
}

// callbackParts are what callbacks need besides calls.
type callbackParts struct {
	cfg       CallbackConfig
	store     CallbackStore
	bridger   Bridger
	trunk     Trunk
	perNumber *ratelimit.Window // requests per destination (E.164)
	perRegion *ratelimit.Window // requests per destination region and day; nil: no cap
	trunkRate *ratelimit.Window // attempts of all callbacks per minute; nil: no cap
	refused   func(limit string)
}

// EnableCallbacks turns callbacks on; call it before LoadCallbacks and Run.
// refused counts an attempt a limit postponed, by the limit's key.
func (m *Manager) EnableCallbacks(cfg CallbackConfig, store CallbackStore, b Bridger, t Trunk, refused func(limit string)) {
	m.cb = &callbackParts{cfg: cfg, store: store, bridger: b, trunk: t, refused: refused,
		perNumber: ratelimit.NewWindow(cfg.PerNumber, cfg.RateWindow)}
	if cfg.PerRegionPerDay > 0 {
		m.cb.perRegion = ratelimit.NewWindow(cfg.PerRegionPerDay, 24*time.Hour)
	}
	if cfg.TrunkCallsPerMinute > 0 {
		m.cb.trunkRate = ratelimit.NewWindow(cfg.TrunkCallsPerMinute, time.Minute)
	}
}

// LoadCallbacks queues again the stored callbacks still pending, in their
// order; one interrupted by a stop while calling or talking goes back to
// the queue (the attempt is recorded as interrupted).
func (m *Manager) LoadCallbacks(ctx context.Context) error {
	if m.cb == nil {
		return nil
	}
	var pending []Callback
	err := m.cb.store.LoadCallbacks(ctx, func(cb Callback) error {
		if cb.pending() {
			pending = append(pending, cb)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load callbacks: %w", err)
	}
	slices.SortFunc(pending, func(a, b Callback) int { return a.Enqueued.Compare(b.Enqueued) })
	for _, rec := range pending {
		if rec.State != CallbackQueued {
			rec.Attempts = append(rec.Attempts, Attempt{At: time.Now(), Agent: rec.Agent, Outcome: "interrupted by a restart"})
			m.counts.add(func(c *counts) { c.attempts[AttemptOther]++ })
			rec.State, rec.Agent = CallbackQueued, ""
		}
		cb := &callback{rec: rec, item: m.itemOf(rec)}
		if _, err := m.acd.Enqueue(cb.item); err != nil {
			m.log.Error("callback not queued again", "callback_id", rec.ID, "error", err)
			continue
		}
		m.mu.Lock()
		m.callbacks[rec.ID] = cb
		m.mu.Unlock()
		m.save(ctx, cb)
	}
	m.signal()
	return nil
}

// itemOf is the queue item of a callback record.
func (m *Manager) itemOf(rec Callback) *acd.Item {
	it := m.acd.NewItem(rec.ID, rec.Group, rec.Visitor.Preferred, m.acd.TierPriority(rec.Visitor.Tier), rec.Enqueued)
	it.Language = rec.Visitor.Language
	return it
}

// RequestCallback validates the number, stores the callback (durably)
// and queues it.
func (m *Manager) RequestCallback(ctx context.Context, r CallbackRequest) (CallbackView, error) {
	if m.cb == nil {
		return CallbackView{}, ErrCallbacksOff
	}
	phone, err := m.cb.cfg.Phone.Normalize(r.Phone)
	if err != nil {
		return CallbackView{}, err
	}
	now := time.Now()
	if err := m.accepting(r.Group, now); err != nil {
		return CallbackView{}, err
	}
	if ok, wait := m.cb.perNumber.Allow(phone, now); !ok {
		return CallbackView{}, &RateLimitedError{Limit: "callbacks.per_number", RetryAfter: wait}
	}
	if m.cb.perRegion != nil {
		if ok, wait := m.cb.perRegion.Allow(RegionOf(phone), now); !ok {
			return CallbackView{}, &RateLimitedError{Limit: "callbacks.per_region_per_day", RetryAfter: wait}
		}
	}
	rec := Callback{ID: newID(), Group: r.Group, Phone: phone, Name: r.Name, Visitor: r.Visitor,
		State: CallbackQueued, Enqueued: now, Updated: now}
	cb := &callback{rec: rec, item: m.itemOf(rec)}
	if err := m.cb.store.SaveCallback(ctx, rec); err != nil {
		return CallbackView{}, fmt.Errorf("store callback: %w", err)
	}
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return CallbackView{}, ErrStopped
	}
	if _, err := m.acd.Enqueue(cb.item); err != nil {
		m.mu.Unlock()
		m.update(ctx, cb, func(rec *Callback) { rec.State = CallbackCancelled })
		return CallbackView{}, m.refused(r.Group, err, now)
	}
	m.callbacks[rec.ID] = cb
	m.mu.Unlock()
	m.signal()
	return m.view(cb, now), nil
}

// Callback returns callback id with its place in the queue.
func (m *Manager) Callback(id string) (CallbackView, error) {
	cb := m.callback(id)
	if cb == nil {
		return CallbackView{}, ErrUnknownCallback
	}
	return m.view(cb, time.Now()), nil
}

// Callbacks returns the callbacks pending or taken by hand, oldest first.
func (m *Manager) Callbacks() []CallbackView {
	m.mu.Lock()
	cbs := make([]*callback, 0, len(m.callbacks))
	for _, cb := range m.callbacks {
		cbs = append(cbs, cb)
	}
	m.mu.Unlock()
	now := time.Now()
	out := make([]CallbackView, 0, len(cbs))
	for _, cb := range cbs {
		if v := m.view(cb, now); v.pending() || v.State == CallbackTaken {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b CallbackView) int { return a.Enqueued.Compare(b.Enqueued) })
	return out
}

// CancelCallback is the visitor giving up: a queued callback leaves the
// queue; an attempt ringing is cancelled. One already talking is not cut.
func (m *Manager) CancelCallback(ctx context.Context, id string) error {
	cb := m.callback(id)
	if cb == nil {
		return ErrUnknownCallback
	}
	cb.mu.Lock()
	state, cancel := cb.rec.State, cb.cancel
	cb.mu.Unlock()
	switch state {
	case CallbackQueued:
		m.acd.Leave(cb.rec.Group, id, time.Now(), true)
		m.update(ctx, cb, func(rec *Callback) { rec.State = CallbackCancelled })
	case CallbackCalling:
		m.update(ctx, cb, func(rec *Callback) { rec.State = CallbackCancelled })
		if cancel != nil {
			cancel()
		}
	default:
		return fmt.Errorf("%w: %s", ErrCallbackState, state)
	}
	return nil
}

// TakeCallback gives a queued callback to agent, who calls the visitor
// from any phone: it leaves the queue.
func (m *Manager) TakeCallback(ctx context.Context, id, agent string) (CallbackView, error) {
	cb := m.callback(id)
	if cb == nil {
		return CallbackView{}, ErrUnknownCallback
	}
	cb.mu.Lock()
	ok := cb.rec.State == CallbackQueued && cb.cancel == nil
	if ok {
		cb.rec.State, cb.rec.Agent = CallbackTaken, agent // before a dispatch could route it
	}
	state := cb.rec.State
	cb.mu.Unlock()
	if !ok {
		return CallbackView{}, fmt.Errorf("%w: %s", ErrCallbackState, state)
	}
	m.acd.Leave(cb.rec.Group, id, time.Now(), false)
	m.update(ctx, cb, func(rec *Callback) {
		rec.Attempts = append(rec.Attempts, Attempt{At: time.Now(), Agent: agent, Outcome: "taken by hand"})
	})
	return m.view(cb, time.Now()), nil
}

// PhonePolicy is the policy callback numbers are checked against.
func (m *Manager) PhonePolicy() PhonePolicy { return m.cb.cfg.Phone }

// DoneCallback marks a callback agent took by hand as done.
func (m *Manager) DoneCallback(ctx context.Context, id, agent string) error {
	cb := m.callback(id)
	if cb == nil {
		return ErrUnknownCallback
	}
	if rec := cb.record(); rec.State != CallbackTaken || rec.Agent != agent {
		return fmt.Errorf("%w: %s by %s", ErrCallbackState, rec.State, rec.Agent)
	}
	m.update(ctx, cb, func(rec *Callback) { rec.State = CallbackDone })
	return nil
}

func (m *Manager) callback(id string) *callback {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.callbacks[id]
}

// view is cb with its place in the queue at now.
func (m *Manager) view(cb *callback, now time.Time) CallbackView {
	v := CallbackView{Callback: cb.record()}
	if v.State == CallbackQueued {
		v.Position, v.EWT = m.acd.Waiting(v.Group, v.ID, now)
		v.EWT = v.EWT.Round(time.Second)
		v.Band = m.acd.Band(v.EWT)
	}
	return v
}

// update changes cb's record and stores it. A callback that reached an
// end is forgotten after KeepEnded (it stays in the store).
func (m *Manager) update(ctx context.Context, cb *callback, change func(*Callback)) {
	cb.mu.Lock()
	wasOver, tried := cb.rec.over(), len(cb.rec.Attempts)
	change(&cb.rec)
	cb.rec.Updated = time.Now()
	over := cb.rec.over() && !wasOver
	state, attempts := cb.rec.State, slices.Clone(cb.rec.Attempts[min(tried, len(cb.rec.Attempts)):])
	cb.mu.Unlock()
	m.counts.add(func(c *counts) {
		for _, a := range attempts {
			c.attempts[attemptResult(a.Outcome)]++
		}
		if over {
			c.callbacksEnded[state]++
		}
	})
	m.save(ctx, cb)
	if over {
		time.AfterFunc(m.cfg.KeepEnded, func() {
			m.mu.Lock()
			delete(m.callbacks, cb.rec.ID)
			m.mu.Unlock()
		})
	}
}

func (m *Manager) save(ctx context.Context, cb *callback) {
	if err := m.cb.store.SaveCallback(ctx, cb.record()); err != nil {
		m.log.Error("store callback", "callback_id", cb.rec.ID, "error", err)
	}
}

// readyCallback reports whether a queued callback may be routed now.
func (cb *callback) ready(now time.Time) bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.rec.State == CallbackQueued && cb.cancel == nil && !now.Before(cb.rec.NextTry)
}
