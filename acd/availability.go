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
	// EWT is the estimated wait of a visitor arriving now: 0 when an
	// agent is available.
	EWT time.Duration
	// Band labels EWT for display.
	Band string
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
	if st.Available == 0 {
		st.EWT = g.est.Wait(st.QueueLength, st.Busy)
	}
	st.Band = BandOf(st.EWT, s.cfg.Bands)
	room := g.cfg.QueueLimit == 0 || st.QueueLength < g.cfg.QueueLimit
	st.Accepting = st.Open && (st.Available > 0 || st.Busy > 0 && room)
	return st
}
