package location

import (
	"maps"
	"slices"
	"time"
)

// Apply brings the bindings of aor up to what another node stored: bs,
// none when it removed them. Expired ones are dropped, the lapse timer
// re-armed, and the observer told when the AOR came or went, as for a
// REGISTER here; nothing is written to the store. Changes must come in
// the order the store made them.
func (s *Service) Apply(aor string, bs []Binding) {
	lock := s.aorLock(aor)
	lock.Lock()
	defer lock.Unlock()
	now := time.Now()
	s.mu.Lock()
	cur := live(s.bindings[aor], now)
	s.mu.Unlock()
	s.set(aor, cur, live(bs, now))
}

// Replay tells the observer again of every address-of-record with a live
// binding, each in turn with that AOR's changes, so that it cannot
// overtake one: for an observer that starts to care after Load (the ACD
// of a node that has just become its cluster's leader).
func (s *Service) Replay() {
	if s.observer == nil {
		return
	}
	s.mu.Lock()
	aors := slices.Collect(maps.Keys(s.bindings))
	s.mu.Unlock()
	for _, aor := range aors {
		lock := s.aorLock(aor)
		lock.Lock()
		if len(s.Lookup(aor)) > 0 {
			s.observer(aor, true)
		}
		lock.Unlock()
	}
}
