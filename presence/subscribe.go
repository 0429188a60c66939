package presence

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// SubscribeRequest is one initial SUBSCRIBE, already stripped of its transport.
type SubscribeRequest struct {
	// ID identifies the subscription from now on; the adapter chooses it.
	ID string
	// Presentity is the canonical URI watched.
	Presentity string
	// Event is the event package: EventPresence (also when empty) or
	// EventDialog.
	Event string
	// Watcher identifies the subscriber.
	Watcher string
	// User is the authenticated user subscribing, "" without
	// authentication; the watch policy reads it.
	User string
	// Expires is the requested lifetime; nil when the request named none,
	// 0 for a fetch (RFC 6665 §4.4.3: one notification, then the end).
	Expires *time.Duration
	// Dialog is the adapter's state, kept with the subscription.
	Dialog []byte
}

// Subscribe creates a subscription and returns it, and whether the
// presentity has any publication yet. Nothing is sent until the adapter has
// answered the request and calls Flush.
func (s *Service) Subscribe(ctx context.Context, r SubscribeRequest) (Subscription, bool, error) {
	if err := s.checkURI(r.Presentity); err != nil {
		return Subscription{}, false, err
	}
	if _, err := packageOf(r.Event); err != nil {
		return Subscription{}, false, err
	}
	if !s.cfg.mayWatch(r.User, r.Presentity) {
		return Subscription{}, false, fmt.Errorf("%w: %s", ErrNotAllowed, r.Presentity)
	}
	res := resourceOf(r.Event, r.Presentity)
	if err := s.admit(res, r.Watcher); err != nil {
		return Subscription{}, false, err
	}
	expires, err := s.grant(r.Expires, s.cfg.SubscribeMinExpires, s.cfg.SubscribeDefaultExpires, s.cfg.SubscribeMaxExpires)
	if err != nil {
		return Subscription{}, false, err
	}
	sub := Subscription{
		ID:          r.ID,
		Presentity:  r.Presentity,
		Event:       res.event,
		Watcher:     r.Watcher,
		Expires:     time.Now().Add(expires),
		SeqReserved: seqBlock,
		Dialog:      r.Dialog,
	}
	w := newWatcher(sub)
	if expires == 0 {
		w.final = ReasonTimeout // a fetch is never stored
	} else if err := s.store.PutSubscription(ctx, sub); err != nil {
		return Subscription{}, false, fmt.Errorf("subscribe %s: %w", r.Presentity, err)
	}
	s.attach(w)
	_, published := s.document(res)
	return sub, published, nil
}

// Refresh extends or, with expires 0, ends a subscription (RFC 6665
// §4.2.1.2). dialog, when not nil, replaces the adapter's state. As after
// Subscribe, the adapter calls Flush once it has answered.
func (s *Service) Refresh(ctx context.Context, id string, expires *time.Duration, dialog []byte) (Subscription, error) {
	w := s.watcher(id)
	if w == nil {
		return Subscription{}, ErrNoSuchSubscription
	}
	d, err := s.grant(expires, s.cfg.SubscribeMinExpires, s.cfg.SubscribeDefaultExpires, s.cfg.SubscribeMaxExpires)
	if err != nil {
		return Subscription{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.final != "" {
		return Subscription{}, ErrNoSuchSubscription
	}
	sub := w.sub
	sub.Expires = time.Now().Add(d)
	if dialog != nil {
		sub.Dialog = dialog
	}
	if d == 0 {
		if err := s.store.DeleteSubscription(ctx, id); err != nil {
			return Subscription{}, fmt.Errorf("unsubscribe %s: %w", id, err)
		}
		w.sub, w.final = sub, ReasonTimeout
		return sub, nil
	}
	if err := s.store.PutSubscription(ctx, sub); err != nil {
		return Subscription{}, fmt.Errorf("refresh %s: %w", id, err)
	}
	w.sub = sub
	s.lapses.add(sub.Expires, nil, id)
	return sub, nil
}

// Flush sends the subscription's current state at once, whatever the rate
// limit: adapters call it after answering a SUBSCRIBE, since every accepted
// SUBSCRIBE is followed by a notification (RFC 6665 §4.2.1.2).
func (s *Service) Flush(id string) error {
	w := s.watcher(id)
	if w == nil {
		return ErrNoSuchSubscription
	}
	w.mu.Lock()
	w.flush = true
	w.mu.Unlock()
	s.kick(w)
	return nil
}

// loadSubscriptions resumes stored subscriptions; notification numbering
// continues above the reserved mark.
func (s *Service) loadSubscriptions(ctx context.Context, now time.Time) error {
	var expired []string
	err := s.store.LoadSubscriptions(ctx, func(sub Subscription) error {
		if !sub.Expires.After(now) {
			expired = append(expired, sub.ID)
			return nil
		}
		sub.Event = resourceOf(sub.Event, sub.Presentity).event // stored before events were told apart: presence
		w := newWatcher(sub)
		w.seq, w.started = sub.SeqReserved, true
		s.attach(w)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	for _, id := range expired {
		if err := s.store.DeleteSubscription(ctx, id); err != nil {
			return fmt.Errorf("drop expired subscription: %w", err)
		}
	}
	return nil
}

// Adopt resumes a subscription another process served until it died,
// which the store has taken over: numbering continues above its reserved
// mark, as after a restart, and the current state is sent at once, from
// this process, so that the watcher learns its address. It reports false
// for a subscription already lapsed or of a package not served.
func (s *Service) Adopt(sub Subscription) bool {
	sub.Event = resourceOf(sub.Event, sub.Presentity).event
	if _, err := packageOf(sub.Event); err != nil || !sub.Expires.After(time.Now()) {
		return false
	}
	w := newWatcher(sub)
	w.seq, w.started, w.flush = sub.SeqReserved, true, true
	s.attach(w)
	s.kick(w)
	return true
}

// attach indexes w under its ID and presentity and arms its expiry.
func (s *Service) attach(w *watcher) {
	pr := s.presentity(w.resource())
	s.mu.Lock()
	if prev := s.watchers[w.sub.ID]; prev != nil {
		s.mu.Unlock()
		s.detach(prev)
		s.mu.Lock()
	}
	s.watchers[w.sub.ID] = w
	s.perWatcher[w.from]++
	s.mu.Unlock()
	pr.mu.Lock()
	pr.watchers = append(pr.watchers, w)
	pr.mu.Unlock()
	w.mu.Lock()
	s.lapses.add(w.sub.Expires, nil, w.sub.ID)
	w.mu.Unlock()
}

// admit checks a new subscription of watcher to res against the caps.
func (s *Service) admit(res resource, watcher string) error {
	s.mu.RLock()
	n := s.perWatcher[watcher]
	pr := s.presentities[res]
	s.mu.RUnlock()
	if n >= s.cfg.MaxSubscriptionsPerWatcher {
		return &LimitError{Limit: "presence.max_subscriptions_per_watcher", Max: s.cfg.MaxSubscriptionsPerWatcher}
	}
	if pr != nil {
		pr.mu.Lock()
		n = len(pr.watchers)
		pr.mu.Unlock()
		if n >= s.cfg.MaxSubscriptionsPerPresentity {
			return &LimitError{Limit: "presence.max_subscriptions_per_presentity", Max: s.cfg.MaxSubscriptionsPerPresentity}
		}
	}
	return nil
}

// detach forgets w; pending timers stop.
func (s *Service) detach(w *watcher) {
	w.stop()
	s.mu.Lock()
	if s.watchers[w.sub.ID] == w {
		delete(s.watchers, w.sub.ID)
		if s.perWatcher[w.from]--; s.perWatcher[w.from] <= 0 {
			delete(s.perWatcher, w.from)
		}
	}
	pr := s.presentities[w.resource()]
	s.mu.Unlock()
	if pr != nil {
		pr.mu.Lock()
		pr.watchers = slices.DeleteFunc(pr.watchers, func(x *watcher) bool { return x == w })
		pr.mu.Unlock()
	}
}

// timeout ends a subscription that was not refreshed in time.
func (s *Service) timeout(id string) {
	w := s.watcher(id)
	if w == nil {
		return
	}
	w.mu.Lock()
	live := w.sub.Expires.After(time.Now()) || w.final != "" // refreshed, or ended otherwise
	w.mu.Unlock()
	if live {
		return
	}
	if err := s.store.DeleteSubscription(s.ctx, id); err != nil {
		s.log.Error("expire subscription", "subscription", id, "error", err)
		return
	}
	s.end(w, ReasonTimeout)
}

// end marks w final and sends its last notification.
func (s *Service) end(w *watcher, reason string) {
	w.mu.Lock()
	if w.final == "" {
		w.final = reason
	}
	w.mu.Unlock()
	s.kick(w)
}

func (s *Service) watcher(id string) *watcher {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.watchers[id]
}

// seqBlock is how many notification numbers one store write reserves.
const seqBlock = 256

// Subscription returns the live subscription with id.
func (s *Service) Subscription(id string) (Subscription, bool) {
	w := s.watcher(id)
	if w == nil {
		return Subscription{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.final != "" {
		return Subscription{}, false
	}
	return w.sub, true
}
