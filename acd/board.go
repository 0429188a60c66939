package acd

import (
	"crypto/subtle"
	"slices"
	"strings"
	"time"
)

// Board is what a supervisor sees: every agent's state and since when,
// every group's queue with its estimate and today's abandonment.
type Board struct {
	Agents []AgentBoard
	Groups []GroupBoard
}

// AgentBoard is one agent on the board.
type AgentBoard struct {
	URI, Name string
	State     string
	Since     time.Time
	// Away says why an agent is away: the id of the reason it gave
	// (AwayReason), "manual" (set away without one), "phone" (its
	// phone's presence), or "misses" (set away after max_misses calls
	// left ringing).
	Away string
	// Groups are the groups whose skill the agent has, in config order.
	Groups []string
}

// GroupBoard is one group on the board.
type GroupBoard struct {
	GroupStatus
	// OldestWait is how long the first visitor in the queue has waited.
	OldestWait time.Duration
	// Served and Abandoned count today's visitors (since midnight,
	// server time) who left the queue answered, or gave up.
	Served, Abandoned int
	// ServedTotal and AbandonedTotal count them since the process
	// started: they only grow, as counters for metrics do.
	ServedTotal, AbandonedTotal int
}

// tally counts a group's visitors who left its queue on one day, and
// since start.
type tally struct {
	day                         string // YYYY-MM-DD, local time
	served, abandoned           int
	servedTotal, abandonedTotal int
}

func (t *tally) add(now time.Time, abandoned bool) {
	t.roll(now)
	if abandoned {
		t.abandoned++
		t.abandonedTotal++
	} else {
		t.served++
		t.servedTotal++
	}
}

// roll starts a new day's count once the day changed.
func (t *tally) roll(now time.Time) {
	if day := now.Local().Format(time.DateOnly); day != t.day {
		t.day, t.served, t.abandoned = day, 0, 0
	}
}

// SupervisorByToken returns the name of the supervisor whose bearer token
// this is.
func (s *Service) SupervisorByToken(token string) (string, bool) {
	found := ""
	for _, sv := range s.cfg.Supervisors { // compare every token, in constant time each
		if subtle.ConstantTimeCompare([]byte(sv.Token), []byte(token)) == 1 {
			found = sv.Name
		}
	}
	return found, found != ""
}

// Board returns the supervisor's board at now: agents by name, groups in
// config order.
func (s *Service) Board(now time.Time) Board {
	status := s.Status(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	var b Board
	for _, a := range s.agents {
		ab := AgentBoard{URI: a.Config.URI, Name: a.Config.Name, State: a.State.String(), Since: a.Since}
		if a.State == StateAway {
			switch {
			case a.ManualAway && a.Misses > 0 && s.cfg.MaxMisses > 0 && a.Misses >= s.cfg.MaxMisses:
				ab.Away = "misses"
			case a.ManualAway && a.AwayReason != "":
				ab.Away = a.AwayReason
			case a.ManualAway:
				ab.Away = "manual"
			default:
				ab.Away = "phone"
			}
		}
		for _, g := range s.groups {
			if a.Proficiency(g.cfg.Skill) >= g.cfg.MinProficiency {
				ab.Groups = append(ab.Groups, g.cfg.ID)
			}
		}
		b.Agents = append(b.Agents, ab)
	}
	slices.SortFunc(b.Agents, func(x, y AgentBoard) int {
		return strings.Compare(x.Name+x.URI, y.Name+y.URI)
	})
	for i, g := range s.groups {
		gb := GroupBoard{GroupStatus: status[i]}
		for _, it := range g.queue {
			gb.OldestWait = max(gb.OldestWait, now.Sub(it.Enqueued).Round(time.Second))
		}
		g.today.roll(now)
		gb.Served, gb.Abandoned = g.today.served, g.today.abandoned
		gb.ServedTotal, gb.AbandonedTotal = g.today.servedTotal, g.today.abandonedTotal
		b.Groups = append(b.Groups, gb)
	}
	return b
}
