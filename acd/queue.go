package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

var (
	// ErrUnknownGroup is returned for a group that is not configured.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrGroupClosed is returned by Enqueue outside opening hours.
	ErrGroupClosed = errors.New("group closed")
	// ErrQueueFull is returned by Enqueue when the group's queue is at its limit.
	ErrQueueFull = errors.New("queue full")
)

// Item is one visitor waiting in a group's queue: a call or a callback.
type Item struct {
	ID    string
	Group string
	// Priority orders the queue: higher first, then first come first served.
	Priority int
	Enqueued time.Time
	// Preferred is an agent URI to try first, until PreferUntil.
	Preferred   string
	PreferUntil time.Time
	// Language is the visitor's language: agents with the skill
	// "lang-<language>" are preferred where there are any.
	Language string
	// skipped are agents not to offer this item before a time: they let
	// it ring out, or their phone could not take it (Config.RingSkip).
	skipped map[string]time.Time
	// offered is set while an agent's phone rings for this item, so that
	// Route does not offer it twice.
	offered bool
}

// NewItem returns a queue item for a visitor arriving now in group, who
// prefers agent preferred ("" for none) for Config.StickyWait.
func (s *Service) NewItem(id, group, preferred string, priority int, now time.Time) *Item {
	return &Item{ID: id, Group: group, Priority: priority, Enqueued: now,
		Preferred: preferred, PreferUntil: now.Add(s.cfg.StickyWait)}
}

// Overdue reports whether a visitor who joined group at enqueued has
// waited past the group's MaxWait at now, and should be offered a
// callback.
func (s *Service) Overdue(group string, enqueued, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(group)
	return g != nil && g.cfg.MaxWait > 0 && now.Sub(enqueued) >= g.cfg.MaxWait
}

// TierPriority is the routing priority of a service tier (Config.Tiers).
func (s *Service) TierPriority(tier string) int { return s.cfg.Tiers[tier] }

// Enqueue adds it to its group's queue and returns its position (1 is next).
func (s *Service) Enqueue(it *Item) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(it.Group)
	switch {
	case g == nil:
		return 0, fmt.Errorf("%w: %s", ErrUnknownGroup, it.Group)
	case !g.sched.isOpen(it.Enqueued):
		return 0, ErrGroupClosed
	case g.cfg.QueueLimit > 0 && len(g.queue) >= g.cfg.QueueLimit:
		return 0, ErrQueueFull
	}
	i := g.insert(it)
	g.est.ObserveArrival(it.Enqueued)
	return i + 1, nil
}

// insert puts it in g's queue in its place and returns its index: higher
// priority first, then first come first served (by Enqueued, so that
// items restored after a restart, or transferred, keep their order).
func (g *group) insert(it *Item) int {
	i := len(g.queue)
	for i > 0 && (g.queue[i-1].Priority < it.Priority ||
		g.queue[i-1].Priority == it.Priority && g.queue[i-1].Enqueued.After(it.Enqueued)) {
		i--
	}
	g.queue = slices.Insert(g.queue, i, it)
	return i
}

// Leave removes an item that waited and records its wait: abandoned when
// the visitor gave up, otherwise it was served.
func (s *Service) Leave(group, id string, now time.Time, abandoned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(group)
	if g == nil {
		return
	}
	i := slices.IndexFunc(g.queue, func(it *Item) bool { return it.ID == id })
	if i < 0 {
		return
	}
	g.est.ObserveWait(now.Sub(g.queue[i].Enqueued), abandoned)
	g.today.add(now, abandoned)
	g.queue = slices.Delete(g.queue, i, i+1)
}

// Route picks the next offer of a visitor to an agent, across every group,
// and marks the item offered until Missed, Failed or Release. ready (nil:
// every item) says which items may be offered at all.
//
// Visitors go in order of their group's priority, then their own, then
// the longest wait: a free agent who serves several groups takes the
// visitor who has waited longest among them. Each visitor goes to an
// eligible agent (pick); one who has none waits, and so does one held for
// its preferred agent or a speaker of its language, while the next may
// be routed.
func (s *Service) Route(now time.Time, ready func(*Item) bool) (*Item, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type candidate struct {
		g  *group
		it *Item
	}
	var cands []candidate
	for _, g := range s.groups {
		for _, it := range g.queue {
			if !it.offered && (ready == nil || ready(it)) {
				cands = append(cands, candidate{g, it})
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		switch {
		case a.g.cfg.Priority != b.g.cfg.Priority:
			return b.g.cfg.Priority - a.g.cfg.Priority
		case a.it.Priority != b.it.Priority:
			return b.it.Priority - a.it.Priority
		}
		return a.it.Enqueued.Compare(b.it.Enqueued)
	})
	for _, c := range cands {
		if uri := s.pick(c.g, c.it, now); uri != "" {
			c.it.offered = true
			return c.it, uri, true
		}
	}
	return nil, "", false
}

// Release undoes the offer of item it to agent uri without blaming the
// agent (the visitor left while it rang, or the call could not be placed
// for a reason of ours): the item may be routed again, the agent is free.
// uri may be empty to release the item alone.
func (s *Service) Release(ctx context.Context, uri string, it *Item) {
	s.mu.Lock()
	it.offered = false
	s.mu.Unlock()
	s.update(ctx, uri, func(a *Agent) {
		if a.Call == callReserved {
			a.Call = callNone
		}
	})
}

// Band labels a waiting time with the configured bands.
func (s *Service) Band(d time.Duration) string { return BandOf(d, s.cfg.Bands) }

// Waiting returns where item id stands in group's queue (1 is next) and
// its estimated remaining wait, rounded to the second: the group's
// estimate for a visitor with position-1 visitors ahead. position is 0
// when the item is not queued.
func (s *Service) Waiting(group, id string, now time.Time) (position int, ewt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(group)
	if g == nil {
		return 0, 0
	}
	position = slices.IndexFunc(g.queue, func(it *Item) bool { return it.ID == id }) + 1
	if position == 0 {
		return 0, 0
	}
	st := s.status(g, now)
	it := g.queue[position-1]
	return position, g.wait(s.ahead(g, it.Priority, it.Enqueued), st.Available, s.agentsFor(g, st.Available+st.Busy, now))
}

// ahead counts the visitors Route serves before a visitor of group g with
// priority prio who joined at enqueued: those before it in g's queue and,
// in every other group with which g shares an agent, those of a higher
// group priority, or of the same and a higher visitor priority or an
// earlier arrival. s.mu must be held.
func (s *Service) ahead(g *group, prio int, enqueued time.Time) int {
	n := 0
	for _, h := range s.groups {
		if h != g && !s.share(g, h) {
			continue
		}
		for _, other := range h.queue {
			switch {
			case h.cfg.Priority != g.cfg.Priority:
				if h.cfg.Priority > g.cfg.Priority {
					n++
				}
			case other.Priority != prio:
				if other.Priority > prio {
					n++
				}
			case other.Enqueued.Before(enqueued):
				n++
			}
		}
	}
	return n
}

// share reports whether an agent serves both groups. s.mu must be held.
func (s *Service) share(g, h *group) bool {
	for _, a := range s.agents {
		if a.Proficiency(g.cfg.Skill) >= g.cfg.MinProficiency && a.Proficiency(h.cfg.Skill) >= h.cfg.MinProficiency {
			return true
		}
	}
	return false
}

func (s *Service) group(id string) *group {
	for _, g := range s.groups {
		if g.cfg.ID == id {
			return g
		}
	}
	return nil
}

// pick chooses an agent for it, or "" to let it wait. s.mu must be held.
//
//   - The preferred agent (the last one the visitor spoke with) while
//     Config.StickyWait lasts: the visitor waits for it while it is signed
//     in, not away.
//   - Else an available agent with the group's skill at the proficiency
//     the wait asks for (GroupConfig.ProficiencySteps), or, after
//     GroupConfig.Overflow's wait, with the other group's skill; never
//     one skipped for the item (Config.RingSkip).
//   - Among them one who speaks the visitor's language; for
//     Config.LanguageWait the visitor waits for one while one is signed in.
//   - Then the best skilled, then the longest idle since its last call.
func (s *Service) pick(g *group, it *Item, now time.Time) string {
	wait := now.Sub(it.Enqueued)
	skilled := func(a *Agent) bool {
		if a.Proficiency(g.cfg.Skill) >= g.cfg.minProficiency(wait) {
			return true
		}
		if o := g.cfg.Overflow; o != nil && wait >= o.After {
			if og := s.group(o.Group); og != nil && a.Proficiency(og.cfg.Skill) >= og.cfg.MinProficiency {
				return true
			}
		}
		return false
	}
	eligible := func(a *Agent) bool {
		return a.derive(now) == StateAvailable && skilled(a) && !now.Before(it.skipped[a.Config.URI])
	}
	if it.Preferred != "" && now.Before(it.PreferUntil) {
		if a := s.agents[it.Preferred]; a != nil && a.signedIn(now) {
			if eligible(a) {
				return a.Config.URI
			}
			return ""
		}
	}
	speaks := func(a *Agent) bool { return it.Language != "" && a.Proficiency("lang-"+it.Language) > 0 }
	var best *Agent
	for _, a := range s.agents {
		if !eligible(a) {
			continue
		}
		switch {
		case best == nil:
			best = a
		case speaks(a) != speaks(best):
			if speaks(a) {
				best = a
			}
		case a.Proficiency(g.cfg.Skill) != best.Proficiency(g.cfg.Skill):
			if a.Proficiency(g.cfg.Skill) > best.Proficiency(g.cfg.Skill) {
				best = a
			}
		case !a.IdleSince.Equal(best.IdleSince):
			if a.IdleSince.Before(best.IdleSince) {
				best = a
			}
		case a.Config.URI < best.Config.URI: // ties, the same way every time
			best = a
		}
	}
	if best == nil {
		return ""
	}
	if it.Language != "" && !speaks(best) && wait < s.cfg.LanguageWait {
		for _, a := range s.agents {
			if speaks(a) && skilled(a) && a.signedIn(now) {
				return "" // a speaker is signed in: wait for it a while
			}
		}
	}
	return best.Config.URI
}
