package httpapi

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// GroupSource returns the availability of every group, read from the
// presence server's group presentities. The snapshot calls it once per
// refresh; polls never do.
type GroupSource func() []acd.GroupStatus

// groupView is one group as the availability API shows it.
type groupView struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Skill           string `json:"skill"`
	Status          string `json:"status"` // open, busy, full, closed or after-hours (acd.GroupStatus.State)
	AvailableAgents int    `json:"available_agents"`
	BusyAgents      int    `json:"busy_agents"`
	QueueLength     int    `json:"queue_length"`
	EWTSeconds      int    `json:"ewt_seconds"`
	EWTBand         string `json:"ewt_band"`
	// The wait falls in [low, high] with 60% probability.
	EWTLowSeconds  int `json:"ewt_low_seconds"`
	EWTHighSeconds int `json:"ewt_high_seconds"`
	// OpensAt is the next opening (RFC 3339, UTC) of a group after hours.
	OpensAt string `json:"opens_at,omitempty"`
}

func viewOf(st acd.GroupStatus) groupView {
	return groupView{ID: st.ID, Name: st.Name, Skill: st.Skill, Status: st.State(),
		AvailableAgents: st.Available, BusyAgents: st.Busy, QueueLength: st.QueueLength,
		EWTSeconds: int(st.EWT / time.Second), EWTBand: st.Band,
		EWTLowSeconds: int(st.EWTLow / time.Second), EWTHighSeconds: int(st.EWTHigh / time.Second),
		OpensAt: opensAt(st.OpensAt)}
}

func opensAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// snapshot is the availability of every group at one moment.
type snapshot struct {
	id     uint64 // event id for the stream: rises with every snapshot
	all    *representation
	event  []byte // the stream's event carrying all
	groups map[string]*representation
	next   chan struct{} // closed when a newer snapshot replaces this one
}

// Snapshots rebuilds the availability snapshot every interval and hands
// out the current one without locks: a poll costs a pointer load.
type Snapshots struct {
	source   GroupSource
	interval time.Duration
	cur      atomic.Pointer[snapshot]
	last     []groupView   // the groups of the current snapshot, for change detection
	done     chan struct{} // closed when Run returns: streams end
}

// NewSnapshots builds the first snapshot at once.
func NewSnapshots(source GroupSource, interval time.Duration) (*Snapshots, error) {
	s := &Snapshots{source: source, interval: interval, done: make(chan struct{})}
	return s, s.refresh(time.Now())
}

// Run refreshes the snapshot every interval until ctx ends.
func (s *Snapshots) Run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.refresh(now)
		}
	}
}

// refresh reads every group and publishes a new snapshot. The documents
// carry generated_at, so they are rebuilt only when a group changed: an
// unchanged snapshot keeps its entity tag, and polls keep getting 304.
func (s *Snapshots) refresh(now time.Time) error {
	groups := s.source()
	views := make([]groupView, len(groups))
	for i, g := range groups {
		views[i] = viewOf(g)
	}
	if s.cur.Load() != nil && slices.Equal(views, s.last) {
		return nil
	}
	// Ids start at the clock, so an id from before a restart never
	// names a snapshot of this process.
	id := uint64(now.UnixNano())
	prev := s.cur.Load()
	if prev != nil && id <= prev.id {
		id = prev.id + 1
	}
	all, err := represent(map[string]any{
		"snapshot":                 strconv.FormatUint(id, 10),
		"generated_at":             now.UTC().Format(time.RFC3339),
		"refresh_interval_seconds": int(s.interval.Round(time.Second) / time.Second),
		"groups":                   views,
	})
	if err != nil {
		return err
	}
	snap := &snapshot{id: id, all: all, event: availabilityEvent(id, all.body),
		groups: make(map[string]*representation, len(views)), next: make(chan struct{})}
	for _, v := range views {
		if snap.groups[v.ID], err = represent(v); err != nil {
			return err
		}
	}
	s.last = views
	s.cur.Store(snap)
	if prev != nil {
		close(prev.next)
	}
	return nil
}
