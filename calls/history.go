package calls

import (
	"slices"
	"time"
)

// maxHistory bounds the contacts an agent's history keeps in a day; the
// oldest go first.
const maxHistory = 500

// Handled is a contact an agent took: a call, a chat or a callback.
type Handled struct {
	// Kind is "call", "chat" or "callback"; ID the call's, chat's or
	// callback's id.
	Kind, ID, Group string
	// Visitor is the visitor's name as the agent saw it, or the number
	// called back.
	Visitor string
	// Start is when the agent took it (answered, or the chat opened);
	// Duration how long it lasted.
	Start    time.Time
	Duration time.Duration
	// Outcome says how it ended: the call's or chat's reason, who hung
	// up a callback.
	Outcome string
}

// history is one agent's contacts of one day.
type history struct {
	day      string // YYYY-MM-DD, server time
	contacts []Handled
}

// record adds a contact agent took to its history of the day. Kept in
// memory: a restart forgets it.
func (m *Manager) record(agent string, h Handled) {
	day := h.Start.Local().Format(time.DateOnly)
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := m.history[agent]
	if hs == nil || hs.day != day {
		hs = &history{day: day}
		m.history[agent] = hs
	}
	hs.contacts = append(hs.contacts, h)
	if len(hs.contacts) > maxHistory {
		hs.contacts = slices.Delete(hs.contacts, 0, len(hs.contacts)-maxHistory)
	}
}

// History is what agent took today (server time), newest first.
func (m *Manager) History(agent string, now time.Time) []Handled {
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := m.history[agent]
	if hs == nil || hs.day != now.Local().Format(time.DateOnly) {
		return nil
	}
	out := slices.Clone(hs.contacts)
	slices.Reverse(out)
	return out
}
