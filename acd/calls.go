package acd

import (
	"context"
	"time"
)

// Offer reserves agent uri for a routed item: its phone rings. The B2BUA
// calls it after Route and before it sends the INVITE. The item's ID names
// the agent's dialog in its dialog-info document (BLF) from now on.
func (s *Service) Offer(ctx context.Context, uri string, it *Item) {
	s.update(ctx, uri, func(a *Agent) { a.Call, a.Dialog = callReserved, it.ID })
}

// Handover reserves agent uri, busy with another contact of the same
// visitor (a chat that becomes a call), for item it, as Route and Offer
// would: the visitor goes to the agent it is talking with, ahead of the
// queue, and the agent is never free in between.
func (s *Service) Handover(ctx context.Context, uri string, it *Item) {
	s.mu.Lock()
	it.offered = true
	s.mu.Unlock()
	s.Offer(ctx, uri, it)
}

// Answered records that the agent took the call: busy until Ended.
func (s *Service) Answered(ctx context.Context, uri string) {
	s.update(ctx, uri, func(a *Agent) { a.Call, a.Misses = callBusy, 0 })
}

// Missed records that the agent let the offer of it go unanswered (no
// answer in time, busy, declined): it is not offered that item again for
// Config.RingSkip, and after Config.MaxMisses misses in a row it is set
// away.
func (s *Service) Missed(ctx context.Context, uri string, it *Item) {
	s.skip(uri, it)
	s.update(ctx, uri, func(a *Agent) {
		a.Call = callNone
		a.Misses++
		if s.cfg.MaxMisses > 0 && a.Misses >= s.cfg.MaxMisses {
			a.ManualAway, a.AwayReason = true, ""
		}
	})
}

// Failed records an offer that failed for a reason that is not the
// agent's (its phone's answer could not be used, our media failed): the
// agent is free again and not counted a miss, and is not offered that item
// again for Config.RingSkip.
func (s *Service) Failed(ctx context.Context, uri string, it *Item) {
	s.skip(uri, it)
	s.update(ctx, uri, func(a *Agent) {
		if a.Call == callReserved {
			a.Call = callNone
		}
	})
}

// skip keeps uri from being offered it for Config.RingSkip.
func (s *Service) skip(uri string, it *Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it.offered = false
	if it.skipped == nil {
		it.skipped = make(map[string]time.Time)
	}
	it.skipped[uri] = s.clock.Now().Add(s.cfg.RingSkip)
}

// Ended records the end of the agent's call, which lasted talk: the agent
// wraps up for Config.WrapUp (less if it says it is available sooner), and
// when the wrap-up ends the group's estimator learns a handle time of talk
// plus the wrap-up taken, since an agent in wrap-up counts as serving.
func (s *Service) Ended(ctx context.Context, uri, group string, talk time.Duration) {
	now := s.clock.Now()
	s.update(ctx, uri, func(a *Agent) {
		a.Call, a.WrapUpUntil = callWrapUp, now.Add(s.cfg.WrapUp)
		a.wrapping = handling{group: group, talk: talk, start: now}
	})
	s.clock.AfterFunc(s.cfg.WrapUp, func() {
		s.update(ctx, uri, func(a *Agent) {
			if a.Call == callWrapUp && !s.clock.Now().Before(a.WrapUpUntil) {
				a.Call = callNone
			}
		})
	})
}

// wrappedUp ends a's wrap-up at now. s.mu must be held.
func (s *Service) wrappedUp(a *Agent, now time.Time) {
	if g := s.group(a.wrapping.group); g != nil {
		g.est.ObserveHandled(a.wrapping.talk + now.Sub(a.wrapping.start))
	}
	a.wrapping, a.IdleSince = handling{}, now
}
