package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// LeaderACD is the key of the cluster's ACD leader lease in the nodes
// bucket: one process runs the ACD (routing, EWT, calls, callbacks).
const LeaderACD = "leader.acd"

// Leader is what a leader lease holds: the process that leads, and where
// its HTTP API answers.
type Leader struct {
	Node  string `json:"node"`
	Owner string `json:"owner"`
	HTTP  string `json:"http"` // host:port
}

// Election is this process's candidacy for one leader lease. The lease
// lives as this process's own does (half of cluster.takeover, renewed
// three times per TTL), so that a standby wins it within that time and
// a sixth of cluster.takeover of the leader's death.
type Election struct {
	s     *Store
	key   string
	self  Leader
	value []byte

	mu     sync.Mutex
	holder Leader // as last seen; zero while unknown
}

// Election returns this process's candidacy for the lease key, naming
// http (host:port) as where its HTTP API answers.
func (s *Store) Election(key, http string) *Election {
	self := Leader{Node: s.self.Node, Owner: s.self.Owner, HTTP: http}
	v, _ := json.Marshal(self)
	return &Election{s: s, key: key, self: self, value: v}
}

// Win returns once this process holds the lease, trying to create it
// every third of its TTL while another holds it, or with ctx's error.
// The caller holds the lease then (Lease.Hold), and must stop leading as
// soon as Hold returns ErrLeaseLost.
func (e *Election) Win(ctx context.Context) (*Lease, error) {
	tick := time.NewTicker(e.s.self.TTL / 3)
	defer tick.Stop()
	for {
		lease, err := e.s.Acquire(ctx, e.key, e.value, e.s.self.TTL)
		if err == nil {
			e.see(e.self)
			return lease, nil
		}
		if !errors.Is(err, ErrLeaseHeld) && ctx.Err() == nil {
			e.s.log.Warn("leader election", "lease", e.key, "error", err)
		}
		e.see(e.current(ctx))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// Leader returns the lease's holder as last seen, and whether one is
// known.
func (e *Election) Leader() (Leader, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder, e.holder != Leader{}
}

// current reads the lease's holder: zero when there is none, or it could
// not be read.
func (e *Election) current(ctx context.Context) Leader {
	var l Leader
	if entry, err := e.s.nodes.Get(ctx, e.key); err == nil {
		json.Unmarshal(entry.Value(), &l)
	}
	return l
}

func (e *Election) see(l Leader) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holder = l
}
