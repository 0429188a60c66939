package presence

import (
	"context"
	"errors"
	"sync"
	"time"
)

// notifyTimeout bounds one notification, as a SIP non-INVITE transaction
// does (64·T1).
const notifyTimeout = 32 * time.Second

// watcher is the live state of one subscription. Notifications to it are
// single-flight: while one is in flight, further changes only mark it dirty,
// and the next one carries the latest document.
type watcher struct {
	res  resource // what it watches; never changes
	from string   // who watches (Subscription.Watcher); never changes

	mu       sync.Mutex
	sub      Subscription
	seq      uint64      // last notification number used
	started  bool        // the adapter has answered the SUBSCRIBE
	flush    bool        // send at once, ignoring the rate limit
	final    string      // reason, once the subscription has ended
	sending  bool        // a notification is in flight
	dirty    bool        // the document changed while one was in flight
	done     bool        // nothing more will be sent
	lastSent time.Time   // when the last notification went out
	wait     *time.Timer // rate-limit wait before the next notification
}

// stop cancels the watcher's timers; nothing more is sent.
func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.wait != nil {
		w.wait.Stop()
	}
}

// kick schedules a notification to w: now, or once the minimum interval
// since the last one has passed.
func (s *Service) kick(w *watcher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done || (!w.started && !w.flush) {
		return
	}
	if w.sending {
		w.dirty = true
		return
	}
	if !w.flush && w.final == "" {
		if wait := time.Until(w.lastSent.Add(s.cfg.MinNotifyInterval)); wait > 0 {
			if w.wait == nil {
				w.wait = time.AfterFunc(wait, func() {
					w.mu.Lock()
					w.wait = nil
					w.mu.Unlock()
					s.kick(w)
				})
			}
			return
		}
	}
	if w.wait != nil {
		w.wait.Stop()
		w.wait = nil
	}
	if !s.startSend() {
		return
	}
	w.started, w.flush, w.sending = true, false, true
	s.window.queue(w, s.send, s.cfg.NotifyWindow)
}

// sendWindow bounds the notifications in flight, so that a change to a
// presentity with thousands of watchers goes out at the pace their
// answers come back rather than as one burst that overflows the socket
// buffers on both sides (and costs a retransmission per lost datagram).
// Senders are started on demand, as many as the window allows, and end
// when nothing waits.
type sendWindow struct {
	mu      sync.Mutex
	waiting []*watcher // in the order they were queued
	senders int
}

// queue has w's notification sent by send when a place in a window of
// size is free.
func (q *sendWindow) queue(w *watcher, send func(*watcher), size int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, w)
	if q.senders < max(size, 1) {
		q.senders++
		go q.run(send)
	}
}

// run sends what waits until nothing does.
func (q *sendWindow) run(send func(*watcher)) {
	for {
		q.mu.Lock()
		if len(q.waiting) == 0 {
			q.waiting = nil // let a burst's backing array go
			q.senders--
			q.mu.Unlock()
			return
		}
		w := q.waiting[0]
		q.waiting[0] = nil
		q.waiting = q.waiting[1:]
		q.mu.Unlock()
		send(w)
	}
}

// counts returns the notifications in flight and those waiting.
func (q *sendWindow) counts() (inFlight, waiting int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.senders, len(q.waiting)
}

// startSend accounts for a notification about to go out, unless the
// service is closing.
func (s *Service) startSend() bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed {
		return false
	}
	s.sends.Add(1)
	return true
}

// send delivers one notification to w and schedules the next if the
// document changed meanwhile.
func (s *Service) send(w *watcher) {
	defer s.sends.Done()
	n, err := s.next(w)
	if err == nil {
		ctx, cancel := context.WithTimeout(s.ctx, notifyTimeout)
		err = s.notifier.Notify(ctx, n)
		cancel()
	}
	gone := errors.Is(err, ErrSubscriptionGone)
	if err != nil && !gone {
		s.log.Warn("notify failed", "subscription", n.Subscription.ID, "error", err)
	}

	w.mu.Lock()
	w.lastSent = time.Now()
	w.sending = false
	again := w.dirty
	w.dirty = false
	w.mu.Unlock()

	switch {
	case n.State == StateTerminated:
		s.detach(w)
	case gone:
		if err := s.store.DeleteSubscription(s.ctx, n.Subscription.ID); err != nil {
			s.log.Error("drop gone subscription", "subscription", n.Subscription.ID, "error", err)
		}
		s.detach(w)
	case again:
		s.kick(w)
	}
}

// next builds w's next notification, reserving a block of sequence numbers
// in the store when the reserved ones run out.
func (s *Service) next(w *watcher) (Notification, error) {
	res := w.resource()
	body, _ := s.document(res)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	if w.seq > w.sub.SeqReserved && w.final == "" {
		sub := w.sub
		sub.SeqReserved = w.seq + seqBlock
		if err := s.store.PutSubscription(s.ctx, sub); err != nil {
			w.seq--
			return Notification{Subscription: w.sub}, err
		}
		w.sub = sub
	}
	if stamp := packages[res.event].stamp; stamp != nil {
		body = stamp(body, w.seq)
	}
	n := Notification{Subscription: w.sub, Seq: w.seq, State: StateActive, Body: body}
	if w.final != "" {
		n.State, n.Reason = StateTerminated, w.final
	} else {
		n.Expires = time.Until(w.sub.Expires).Round(time.Second)
	}
	return n, nil
}

// newWatcher returns the watcher of sub.
func newWatcher(sub Subscription) *watcher {
	return &watcher{res: resourceOf(sub.Event, sub.Presentity), from: sub.Watcher, sub: sub}
}

// resource is what w watches.
func (w *watcher) resource() resource { return w.res }
