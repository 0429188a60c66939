package natsstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// Each process is a member of the cluster under a name of its own, its
// owner name: the node's name and a random suffix, new at every start,
// so that a process never mistakes its predecessor's state for its own.
// In the nodes bucket, under the owner name encoded:
//
//	lease.<owner>   while the process lives (Lease: TTL, renewed)
//	member.<owner>  while subscriptions may be stored under its name
//	claim.<owner>   while another process takes them over (a Lease too)
//
// A member without a lease at two looks in a row died (or was cut off
// from NATS for longer than its lease's TTL; when it reaches NATS again it
// finds it out, and stops: Takeover returns ErrLeaseLost). Its
// subscriptions, "<owner>.*" in the subscriptions bucket, are taken over
// by the first process to claim them: each is stored under the claimer's
// name, handed to its presence service (which goes on notifying, with
// sequence numbers above the reserved mark: CSeq keeps increasing), and
// removed from the dead one's; then the member key goes.
const (
	leasePrefix  = "lease."
	memberPrefix = "member."
	claimPrefix  = "claim."
)

// member is what the lease and member keys hold.
type member struct {
	Node    string        `json:"node"`
	Owner   string        `json:"owner"`
	Started time.Time     `json:"started"`
	TTL     time.Duration `json:"ttl"` // of its lease
}

// newMember names a new process of node; its lease lapses after half of
// takeover.
func newMember(node string, takeover time.Duration) member {
	if takeover <= 0 {
		takeover = DefaultTakeover
	}
	return member{Node: node, Owner: node + "~" + strings.ToLower(rand.Text()[:8]), Started: time.Now().UTC().Round(0),
		TTL: max(time.Second, (takeover / 2).Truncate(time.Second))}
}

// join holds this process's lease and lists it as a member.
func (s *Store) join(ctx context.Context) error {
	lease, err := s.Acquire(ctx, leasePrefix+s.owner, s.selfValue(), s.self.TTL)
	if err != nil {
		return err
	}
	if _, err := s.nodes.Put(ctx, memberPrefix+s.owner, s.selfValue()); err != nil {
		lease.release(ctx)
		return fmt.Errorf("join: %w", err)
	}
	hold, stop := context.WithCancel(context.Background())
	s.stopHold, s.held = stop, make(chan error, 1)
	go func() { s.held <- s.keep(hold, lease) }()
	return nil
}

func (s *Store) selfValue() []byte {
	v, _ := json.Marshal(s.self)
	return v
}

// keep holds this process's lease until ctx ends, and rejoins each time
// it is lost while this process's subscriptions are still its own. It
// returns ErrLeaseLost once another process has claimed them.
func (s *Store) keep(ctx context.Context, lease *Lease) error {
	for {
		err := lease.Hold(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		s.log.Warn("lost this process's lease; rejoining", "error", err)
		if lease, err = s.rejoin(ctx, lease); err != nil {
			return err
		}
		s.log.Info("rejoined")
	}
}

// rejoin gets this process's lease back after Hold gave it up: the lease
// itself when it never lapsed (all of JetStream was out of reach, and
// nothing lapses without a leader), or a new one when it did but nobody
// took this process's subscriptions meanwhile. Others wait for a member
// to look dead twice before they claim it (Takeover), which leaves a
// process whose lease lapsed the time to claim itself first. It retries
// while the servers do not answer; ErrLeaseLost when another process has
// claimed, or moved, the subscriptions.
func (s *Store) rejoin(ctx context.Context, old *Lease) (*Lease, error) {
	retry := time.NewTicker(s.self.TTL / 3)
	defer retry.Stop()
	for {
		lease, err := s.reclaim(ctx, old)
		if err == nil || errors.Is(err, ErrLeaseLost) {
			return lease, err
		}
		s.log.Warn("rejoining", "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-retry.C:
		}
	}
}

// reclaim is one attempt of rejoin.
func (s *Store) reclaim(ctx context.Context, old *Lease) (*Lease, error) {
	err := old.renew(ctx)
	if !errors.Is(err, ErrLeaseLost) {
		return old, err
	}
	claim, err := s.Acquire(ctx, claimPrefix+s.owner, s.selfValue(), s.self.TTL)
	if errors.Is(err, ErrLeaseHeld) {
		return nil, fmt.Errorf("%w: another process is taking this one's subscriptions over", ErrLeaseLost)
	}
	if err != nil {
		return nil, err
	}
	defer claim.release(context.WithoutCancel(ctx))
	// A listing, unlike a direct get, is the stream leader's: up to date.
	keys, err := s.nodes.ListKeysFiltered(ctx, memberPrefix+s.owner)
	if err != nil {
		return nil, err
	}
	member := false
	for range keys.Keys() {
		member = true
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !member {
		return nil, fmt.Errorf("%w: another process took this one's subscriptions over", ErrLeaseLost)
	}
	return s.Acquire(ctx, leasePrefix+s.owner, s.selfValue(), s.self.TTL)
}

// counters count for metrics.
type counters struct {
	takeovers atomic.Uint64 // members taken over by this process
	adopted   atomic.Uint64 // subscriptions taken over
	members   atomic.Int64  // live members at the last look
	orphans   atomic.Int64  // members without a lease at the last look

	writeTimeouts atomic.Uint64 // writes that ran out of store.nats.write_timeout
}

// Stats is what Takeover has seen and done, and the writes that timed out.
type Stats struct {
	Members, Orphans   int    // live members, and dead ones not yet taken over, at the last look
	Takeovers, Adopted uint64 // dead members this process took over, and their subscriptions
	WriteTimeouts      uint64 // writes that ran out of store.nats.write_timeout
}

// Stats reports what Takeover has seen and done, and the writes that
// timed out.
func (s *Store) Stats() Stats {
	return Stats{Members: int(s.stats.members.Load()), Orphans: int(s.stats.orphans.Load()),
		Takeovers: s.stats.takeovers.Load(), Adopted: s.stats.adopted.Load(), WriteTimeouts: s.stats.writeTimeouts.Load()}
}

// Takeover looks for dead members every sixth of the takeover time and
// takes their subscriptions over, handing each to adopt (the presence
// service's Adopt), until ctx ends (nil) or this process's own lease is
// lost (ErrLeaseLost: another process may be taking this one's
// subscriptions over, so this one must stop serving them).
func (s *Store) Takeover(ctx context.Context, adopt func(presence.Subscription) bool) error {
	tick := time.NewTicker(s.self.TTL / 3)
	defer tick.Stop()
	suspects := map[string]bool{} // members dead at the last look
	for {
		if err := s.sweep(ctx, suspects, adopt); err != nil && ctx.Err() == nil {
			s.log.Warn("looking for dead members", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.held:
			s.held <- err // for Close
			return err
		case <-tick.C:
		}
	}
}

// sweep takes over every member without a lease at this look and the
// last (suspects, updated).
func (s *Store) sweep(ctx context.Context, suspects map[string]bool, adopt func(presence.Subscription) bool) error {
	keys, err := s.nodes.ListKeys(ctx)
	if err != nil {
		return err
	}
	live, members := map[string]bool{}, []string{}
	for k := range keys.Keys() {
		if owner, ok := strings.CutPrefix(k, leasePrefix); ok {
			live[owner] = true
		} else if owner, ok := strings.CutPrefix(k, memberPrefix); ok {
			members = append(members, owner)
		}
	}
	var dead []string
	for _, m := range members {
		if !live[m] {
			dead = append(dead, m)
		}
	}
	s.stats.members.Store(int64(len(live)))
	s.stats.orphans.Store(int64(len(dead)))
	was := maps.Clone(suspects)
	clear(suspects)
	for _, owner := range dead {
		suspects[owner] = true
		if !was[owner] {
			continue // dead at one look only: it may be rejoining
		}
		if err := s.takeOver(ctx, owner, adopt); err != nil {
			return err
		}
	}
	return nil
}

// moveParallelism bounds the subscriptions a takeover moves at once: each
// is a put and a purge, round trips to the stream's leader.
const moveParallelism = 32

// takeOver claims a dead member and moves its subscriptions under this
// process's name, unless another process has claimed it already. The
// claim is a lease held while moving: should this process die midway,
// it lapses and another one moves the rest.
func (s *Store) takeOver(ctx context.Context, owner string, adopt func(presence.Subscription) bool) error {
	claim, err := s.Acquire(ctx, claimPrefix+owner, s.selfValue(), s.self.TTL)
	if errors.Is(err, ErrLeaseHeld) {
		return nil
	}
	if err != nil {
		return err
	}
	holding, stop := context.WithCancel(ctx)
	var held sync.WaitGroup
	held.Go(func() { claim.Hold(holding) })
	defer func() { stop(); held.Wait() }()

	name, _ := decode(owner)
	now := time.Now()
	var n atomic.Int64
	moves, movesCtx := errgroup.WithContext(holding)
	moves.SetLimit(moveParallelism)
	err = each(movesCtx, s.subs, owner+".*", store.DecodeSubscription, func(sub presence.Subscription) error {
		moves.Go(func() error {
			if sub.Expires.After(now) {
				if err := s.PutSubscription(movesCtx, sub); err != nil {
					return err
				}
				if adopt(sub) {
					n.Add(1)
				}
			}
			return purge(movesCtx, s.subs, owner+"."+encode(sub.ID))
		})
		return nil
	})
	err = cmp.Or(moves.Wait(), err) // a move's error, the cause of each's
	if err == nil {
		err = purge(holding, s.nodes, memberPrefix+owner)
	}
	if err != nil {
		return fmt.Errorf("take over %s: %w", name, err)
	}
	s.stats.takeovers.Add(1)
	s.stats.adopted.Add(uint64(n.Load()))
	s.log.Info("took over a dead node's subscriptions", "node", name, "subscriptions", n.Load())
	return nil
}
