package acd

import (
	"context"
	"slices"
	"time"
)

// Offer reserves agent uri for a routed item: its phone rings. The B2BUA
// calls it after Route and before it sends the INVITE. The item's ID names
// the agent's dialog in its dialog-info document (BLF) from now on.
func (s *Service) Offer(ctx context.Context, uri string, it *Item) {
	s.update(ctx, uri, func(a *Agent) { a.Call, a.Dialog = callReserved, it.ID })
}

// Answered records that the agent took the call: busy until Ended.
func (s *Service) Answered(ctx context.Context, uri string) {
	s.update(ctx, uri, func(a *Agent) { a.Call, a.Misses = callBusy, 0 })
}

// Missed records that the agent let the offer of it go unanswered (no
// answer in time, busy, declined): it is skipped for that item, and after
// Config.MaxMisses misses in a row it is set away.
func (s *Service) Missed(ctx context.Context, uri string, it *Item) {
	s.mu.Lock()
	it.offered = false
	if !slices.Contains(it.skipped, uri) {
		it.skipped = append(it.skipped, uri)
	}
	s.mu.Unlock()
	s.update(ctx, uri, func(a *Agent) {
		a.Call = callNone
		a.Misses++
		if s.cfg.MaxMisses > 0 && a.Misses >= s.cfg.MaxMisses {
			a.ManualAway = true
		}
	})
}

// Ended records the end of the agent's call, which lasted talk: the agent
// wraps up for Config.WrapUp, and the group's estimator learns a handle
// time of talk plus wrap-up, since an agent in wrap-up counts as serving.
func (s *Service) Ended(ctx context.Context, uri, group string, talk time.Duration) {
	s.mu.Lock()
	if g := s.group(group); g != nil {
		g.est.ObserveHandled(talk + s.cfg.WrapUp)
	}
	s.mu.Unlock()
	s.update(ctx, uri, func(a *Agent) {
		a.Call, a.WrapUpUntil = callWrapUp, time.Now().Add(s.cfg.WrapUp)
	})
	time.AfterFunc(s.cfg.WrapUp, func() {
		s.update(ctx, uri, func(a *Agent) {
			if a.Call == callWrapUp && !time.Now().Before(a.WrapUpUntil) {
				a.Call = callNone
			}
		})
	})
}
