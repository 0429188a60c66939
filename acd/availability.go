package acd

import (
	"time"
)

// GroupStatus is a skill group's availability at one moment.
type GroupStatus struct {
	ID, Name, Skill string
	// Open is false outside opening hours.
	Open bool
	// Accepting is true when the group takes a visitor now: open, and an
	// agent available or agents serving a queue with room.
	Accepting bool
	// Available, Busy and Away count the group's agents by state; busy
	// includes reserved and wrap-up, offline agents are not counted.
	Available, Busy, Away int
	// QueueLength is how many visitors wait.
	QueueLength int
	// EWT is the estimated wait of a visitor arriving now, behind the
	// queue, rounded to the second as everything shows it: 0 while free
	// agents outnumber the waiting visitors, and for a group closed or
	// after hours, which shows no wait.
	EWT time.Duration
	// Band labels EWT for display, "" when no wait is shown.
	Band string
	// EWTLow and EWTHigh bound the wait with 60% probability (its 20th
	// and 80th percentiles), rounded to the second; 0 with EWT.
	EWTLow, EWTHigh time.Duration
	// RetryAfter is when a visitor refused now should try again: the
	// next opening after hours, a place freeing in a full queue, a
	// minute while no agent is signed in; 0 when the group takes
	// visitors. It is not carried in the group's document.
	RetryAfter time.Duration
	// OpensAt is the next opening of a group after hours; zero otherwise,
	// and when its hours have no open day.
	OpensAt time.Time
}

// Group states, as the availability API, the widget and the console name
// them (docs/routing.md).
const (
	GroupOpen       = "open"        // an agent is free
	GroupBusy       = "busy"        // every agent serving: a visitor queues for EWT
	GroupFull       = "full"        // agents serving, the queue at its limit
	GroupClosed     = "closed"      // open hours, but no agent signed in
	GroupAfterHours = "after-hours" // outside opening hours
)

// closedRetry is RetryAfter while no agent is signed in.
const closedRetry = time.Minute

// State names the group's state from its counts, so that a status read
// back from the group's document names it the same.
func (st GroupStatus) State() string {
	switch {
	case !st.Open:
		return GroupAfterHours
	case st.Available+st.Busy == 0:
		return GroupClosed
	case st.Available > 0:
		return GroupOpen
	case !st.Accepting:
		return GroupFull
	}
	return GroupBusy
}

// Status returns the availability of every group at now, in config order.
func (s *Service) Status(now time.Time) []GroupStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]GroupStatus, len(s.groups))
	for i, g := range s.groups {
		out[i] = s.status(g, now)
	}
	return out
}

// status computes one group's availability. s.mu must be held.
func (s *Service) status(g *group, now time.Time) GroupStatus {
	st := GroupStatus{ID: g.cfg.ID, Name: g.cfg.Name, Skill: g.cfg.Skill,
		Open: g.sched.isOpen(now), QueueLength: len(g.queue)}
	for _, a := range s.agents {
		if a.Proficiency(g.cfg.Skill) < g.cfg.MinProficiency {
			continue
		}
		switch a.derive(now) {
		case StateAvailable:
			st.Available++
		case StateBusy, StateReserved, StateWrapUp:
			st.Busy++
		case StateAway:
			st.Away++
		}
	}
	room := g.cfg.QueueLimit == 0 || st.QueueLength < g.cfg.QueueLimit
	st.Accepting = st.Open && (st.Available > 0 || st.Busy > 0 && room)
	switch st.State() {
	case GroupAfterHours:
		opens := g.sched.nextOpen(now)
		if st.RetryAfter = opens.Sub(now); st.RetryAfter <= 0 { // no open day
			st.RetryAfter = closedRetry
		} else {
			st.OpensAt = opens
		}
	case GroupClosed:
		st.RetryAfter = closedRetry
	default:
		ahead := s.ahead(g, 0, now.Add(time.Nanosecond))
		agents := s.agentsFor(g, st.Available+st.Busy, now)
		st.EWT = g.wait(ahead, st.Available, agents)
		st.EWTLow, st.EWTHigh = g.interval(ahead, st.Available, agents)
		st.Band = BandOf(st.EWT, s.cfg.Bands)
		if !st.Accepting {
			st.RetryAfter = max(g.wait(0, 0, agents), 5*time.Second)
		}
	}
	return st
}

// agentsFor is how many of the serving agents of group g a wait counts on:
// those who also serve groups of a higher priority serve g only with the
// time the traffic of those leaves them (their Load). At least a tenth of
// them count: a higher group's queue that outgrows its agents is trimmed
// by abandons, not by starving every other group for ever. s.mu must be
// held.
func (s *Service) agentsFor(g *group, serving int, now time.Time) float64 {
	taken := 0.0
	for _, h := range s.groups {
		if h.cfg.Priority > g.cfg.Priority && s.share(g, h) {
			taken += h.est.Load(now)
		}
	}
	return max(float64(serving)-taken, float64(serving)/10)
}

// interval is the 20th and 80th percentiles of that wait, rounded.
func (g *group) interval(ahead, available int, agents float64) (lo, hi time.Duration) {
	if ahead -= available; ahead < 0 {
		return 0, 0
	}
	lo, hi = g.est.Interval(ahead, agents)
	return lo.Round(time.Second), hi.Round(time.Second)
}

// wait is the estimated wait of a visitor with ahead visitors before it,
// rounded to the second: free agents take the first of them at once, then
// agents (agentsFor) serve the queue. The group's EWT, a queued visitor's
// wait and the refusals all come from it.
func (g *group) wait(ahead, available int, agents float64) time.Duration {
	if ahead -= available; ahead < 0 {
		return 0
	}
	return g.est.Wait(ahead, agents).Round(time.Second)
}
