package acd

import (
	"errors"
	"fmt"
	"slices"
)

// AwayReason is a reason an agent gives for being away (a break, lunch, a
// meeting), shown to supervisors and published as the agent's RPID
// activity, so that phones' busy lamps and wallboards show "meal" rather
// than a bare "away".
type AwayReason struct {
	// ID names the reason in the agent API: {"state": "away", "reason": ID}.
	ID string `yaml:"id"`
	// Name is shown in the console and the supervisor view.
	Name string `yaml:"name"`
	// Activity is the RPID activity published (RFC 4480 §3.2), e.g. meal.
	Activity string `yaml:"activity"`
}

// DefaultAwayReasons are a break, lunch, a meeting and training.
func DefaultAwayReasons() []AwayReason {
	return []AwayReason{
		{ID: "break", Name: "Break", Activity: "away"},
		{ID: "lunch", Name: "Lunch", Activity: "meal"},
		{ID: "meeting", Name: "Meeting", Activity: "meeting"},
		{ID: "training", Name: "Training", Activity: "busy"},
	}
}

// ErrUnknownReason is returned by SetAway for a reason not configured.
var ErrUnknownReason = errors.New("unknown away reason")

// rpidActivities are the activities of RFC 4480 §3.2 an away reason may
// publish (on-the-phone is the ACD's own, for calls).
var rpidActivities = []string{"appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit",
	"looking-for-work", "meal", "meeting", "performance", "permanent-absence", "playing", "presentation",
	"shopping", "sleeping", "spectator", "steering", "travel", "tv", "vacation", "working", "worship"}

// validateAwayReasons names the first bad reason under prefix.
func validateAwayReasons(prefix string, rs []AwayReason) error {
	seen := map[string]bool{}
	for i, r := range rs {
		p := fmt.Sprintf("%s.away_reasons[%d]", prefix, i)
		switch {
		case r.ID == "" || r.Name == "":
			return fmt.Errorf("%s: id and name are required", p)
		case seen[r.ID]:
			return fmt.Errorf("%s.id: %q appears twice", p, r.ID)
		case !slices.Contains(rpidActivities, r.Activity):
			return fmt.Errorf("%s.activity: %q is not an RPID activity (RFC 4480), e.g. away, meal, meeting, busy", p, r.Activity)
		}
		seen[r.ID] = true
	}
	return nil
}

// AwayReasons are the reasons agents may give for being away.
func (s *Service) AwayReasons() []AwayReason { return s.cfg.AwayReasons }

// awayReason finds the reason id; ok is false for one not configured.
func (s *Service) awayReason(id string) (AwayReason, bool) {
	i := slices.IndexFunc(s.cfg.AwayReasons, func(r AwayReason) bool { return r.ID == id })
	if i < 0 {
		return AwayReason{}, false
	}
	return s.cfg.AwayReasons[i], true
}

// AwayReason is the reason agent uri gave for being away, "" when it gave
// none or is not set away.
func (s *Service) AwayReason(uri string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.agents[uri]; a != nil && a.ManualAway {
		return a.AwayReason
	}
	return ""
}
