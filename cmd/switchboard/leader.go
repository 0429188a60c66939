package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store/natsstore"
)

// acdFeed hands the ACD its agents' registrations and presence, as the
// location and presence services observe them, once it runs: until then
// (a standby node's ACD) they go nowhere, and the ACD stores nothing.
type acdFeed struct {
	ctx    context.Context
	agents *acd.Service
	on     atomic.Bool
}

func (f *acdFeed) registered(aor string, live bool) {
	if f.on.Load() {
		f.agents.SetRegistered(f.ctx, aor, live)
	}
}

func (f *acdFeed) presence(uri string, doc []byte) {
	if f.on.Load() {
		f.agents.SetPresence(f.ctx, uri, acd.PresenceOf(uri, doc))
	}
}

// acdRole is this process's ACD: built at start wherever the acd role
// runs, run only while this process leads the cluster's (start): at once
// with the bbolt store, once it wins the leader lease with JetStream
// (campaign). Routing, EWT publishing, calls and callbacks all run on
// the leader alone; a standby's HTTP API answers 503 naming it (standby).
type acdRole struct {
	feed   *acdFeed
	loc    *location.Service
	pres   *presence.Service
	mgr    *calls.Manager
	phones *media.Softphones
	log    *slog.Logger

	election atomic.Pointer[natsstore.Election] // set by campaign
	leading  atomic.Bool
}

// start runs the ACD: it restores the agents' own choices (away and its
// reason) and the pending callbacks from the store, feeds it every
// registration and presence from now on, starting with the current ones,
// then routes and publishes, and its HTTP API serves. Its goroutines end
// when ctx does: calls end (BYE), then softphones close.
func (r *acdRole) start(ctx context.Context, background *sync.WaitGroup) error {
	agents := r.feed.agents
	if err := agents.Load(ctx); err != nil {
		return err
	}
	r.feed.on.Store(true)
	r.loc.Replay()
	r.pres.Replay()
	background.Go(func() { agents.Run(ctx) })
	if err := r.mgr.LoadCallbacks(ctx); err != nil {
		return err
	}
	background.Go(func() { r.mgr.Run(ctx); r.phones.Close() })
	r.leading.Store(true)
	return nil
}

// campaign waits until this process wins the election, then starts the
// ACD and holds the lease until ctx ends (nil: the lease released), or
// returns ErrLeaseLost: another process may lead already, so this one
// must stop (serve ends the process).
func (r *acdRole) campaign(ctx context.Context, e *natsstore.Election, background *sync.WaitGroup) error {
	r.election.Store(e)
	lease, err := e.Win(ctx)
	if err != nil {
		return nil // ctx ended first
	}
	r.log.Info("leading the cluster's ACD", "lease", natsstore.LeaderACD)
	holding, stop := context.WithCancel(ctx)
	defer stop()
	held := make(chan error, 1)
	go func() { held <- lease.Hold(holding) }()
	if err := r.start(ctx, background); err != nil {
		stop()
		<-held
		return fmt.Errorf("start the ACD: %w", err)
	}
	return <-held
}

// standby implements httpapi.Standby: while another process leads, the
// leader as this process last saw it.
func (r *acdRole) standby() (node, addr string, standby bool) {
	if r.leading.Load() {
		return "", "", false
	}
	if e := r.election.Load(); e != nil {
		l, _ := e.Leader()
		return l.Node, l.HTTP, true
	}
	return "", "", true
}

// registerLeaderMetric exposes whether this process runs the ACD.
func registerLeaderMetric(reg prometheus.Registerer, r *acdRole) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_cluster_leader",
		Help: "1 while this node runs the cluster's ACD (holds its leader lease, or runs on the bbolt store), else 0."},
		func() float64 {
			if r.leading.Load() {
				return 1
			}
			return 0
		}))
}

// reachableAt turns a listener address into one other hosts can reach:
// a wildcard host becomes host (sip.host).
func reachableAt(addr, host string) string {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() && host != "" {
		h = host
	}
	return net.JoinHostPort(h, port)
}
