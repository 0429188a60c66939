package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store/natsstore"
)

// The domain packages (presence, acd, calls) count and time what they do
// in plain Go: their Stats, the ACD's board, the calls' Observer. Here
// they become Prometheus series, read at each scrape (GaugeFunc,
// CounterFunc, acdCollector) or observed as they happen (callObserver).
// docs/metrics.md lists every series.

// registerPresenceMetrics exposes the presence service's counts as gauges.
func registerPresenceMetrics(reg prometheus.Registerer, svc *presence.Service) {
	gauge := func(name, help string, f func(presence.Stats) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f(svc.Stats())) })
	}
	reg.MustRegister(
		gauge("switchboard_presence_publications", "Live publications.", func(s presence.Stats) int { return s.Publications }),
		gauge("switchboard_presence_subscriptions", "Live subscriptions.", func(s presence.Stats) int { return s.Subscriptions }),
		gauge("switchboard_presence_presentities", "Presentities known.", func(s presence.Stats) int { return s.Presentities }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_presence_notifies_in_flight",
			Help: "NOTIFYs waiting for their answer, at most presence.notify_window."},
			func() float64 { n, _ := svc.Notifies(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_presence_notifies_waiting",
			Help: "NOTIFYs waiting for a place in presence.notify_window."},
			func() float64 { _, n := svc.Notifies(); return float64(n) }),
	)
}

// registerClusterMetrics exposes what the JetStream store sees of the
// other nodes and has taken over from the dead ones.
func registerClusterMetrics(reg prometheus.Registerer, ns *natsstore.Store) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_cluster_members",
			Help: "Nodes holding a lease at the last look, this one included."},
			func() float64 { return float64(ns.Stats().Members) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_cluster_orphans",
			Help: "Dead nodes whose subscriptions were not yet taken over, at the last look."},
			func() float64 { return float64(ns.Stats().Orphans) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_cluster_takeovers_total",
			Help: "Dead nodes whose subscriptions this node took over."},
			func() float64 { return float64(ns.Stats().Takeovers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_cluster_adopted_subscriptions_total",
			Help: "Subscriptions this node took over from dead nodes."},
			func() float64 { return float64(ns.Stats().Adopted) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_cluster_write_timeouts_total",
			Help: "Writes to JetStream not acknowledged within store.nats.write_timeout (answered with an error)."},
			func() float64 { return float64(ns.Stats().WriteTimeouts) }),
		replicationCollector{ns},
	)
}

// replicationCollector asks JetStream, at each scrape, how far each
// bucket's replicas are behind their leader.
type replicationCollector struct{ ns *natsstore.Store }

var (
	replicaLag = prometheus.NewDesc("switchboard_cluster_replica_lag",
		"Operations a bucket's replica is behind its stream's leader.", []string{"bucket", "server"}, nil)
	replicaCurrent = prometheus.NewDesc("switchboard_cluster_replica_current",
		"1 while a bucket's replica is caught up with its stream's leader and online, else 0.", []string{"bucket", "server"}, nil)
)

func (replicationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaLag
	ch <- replicaCurrent
}

func (c replicationCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	buckets, err := c.ns.Buckets(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(replicaLag, err)
		return
	}
	for _, b := range buckets {
		for _, r := range b.Replicas {
			current := 0.0
			if r.Current && !r.Offline {
				current = 1
			}
			ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, float64(r.Lag), b.Bucket, r.Server)
			ch <- prometheus.MustNewConstMetric(replicaCurrent, prometheus.GaugeValue, current, b.Bucket, r.Server)
		}
	}
}

// registerCallMetrics exposes the calls manager's and the media engine's
// counts: calls, chats and callbacks by how they ended, RTP relayed.
func registerCallMetrics(reg prometheus.Registerer, mgr *calls.Manager, engine *media.Engine) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_calls_active",
		Help: "Visitors' calls queued, ringing or talking."}, func() float64 { return float64(mgr.Stats().Active) }))
	counter := func(name, help, label, value string, f func(calls.Stats) int) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help,
			ConstLabels: prometheus.Labels{label: value}}, func() float64 { return float64(f(mgr.Stats())) })
	}
	for _, reason := range calls.Reasons {
		reg.MustRegister(counter("switchboard_calls_ended_total", "Visitors' calls ended, by reason.", "reason", reason,
			func(s calls.Stats) int { return s.Ended[reason] }))
	}
	for _, reason := range calls.ChatReasons {
		reg.MustRegister(counter("switchboard_chats_ended_total", "Visitors' chats ended, by reason.", "reason", reason,
			func(s calls.Stats) int { return s.ChatsEnded[reason] }))
	}
	for _, end := range calls.CallbackEnds {
		reg.MustRegister(counter("switchboard_callbacks_ended_total",
			"Callbacks that reached an end, by outcome: done (talked, or taken by hand and done), failed (attempts exhausted), cancelled (by the visitor).",
			"outcome", string(end), func(s calls.Stats) int { return s.CallbacksEnded[end] }))
	}
	for _, result := range calls.AttemptResults {
		reg.MustRegister(counter("switchboard_callback_attempts_total",
			"Callbacks' attempts, by result: answered, agent (the agent did not answer), visitor (the visitor's leg failed), postponed (over a limit), interrupted.",
			"result", result, func(s calls.Stats) int { return s.Attempts[result] }))
	}
	for dir, f := range map[string]func(media.Stats) uint64{
		"to_phone":       func(s media.Stats) uint64 { return s.ToPhone },
		"to_browser":     func(s media.Stats) uint64 { return s.ToBrowser },
		"phone_to_phone": func(s media.Stats) uint64 { return s.PhoneToPhone },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_rtp_packets_relayed_total",
			Help: "RTP packets relayed between browsers and phones, by direction.", ConstLabels: prometheus.Labels{"direction": dir}},
			func() float64 { return float64(f(engine.Stats())) }))
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_ice_restarts_total",
		Help: "Visitors' ICE restarts answered (a network change mid-call); refused ones past media.ice.max_restarts count in switchboard_refused_total."},
		func() float64 { return float64(engine.Stats().ICERestarts) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_media_calls",
		Help: "Calls the media relay carries now, at most media.max_calls."}, func() float64 { return float64(engine.Stats().Calls) }))
}

// callObserver turns the calls' Observer into histograms.
type callObserver struct{ ring, talk prometheus.Histogram }

var _ calls.Observer = callObserver{}

// newCallObserver registers the ring and talk time histograms on reg.
// Ring times run up to calls.ring_timeout (20 s by default); talks last
// minutes.
func newCallObserver(reg prometheus.Registerer) callObserver {
	o := callObserver{
		ring: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_call_ring_duration_seconds",
			Help:    "From a visitor's call offered to an agent (INVITE sent) to the agent's answer; missed offers are not counted.",
			Buckets: []float64{0.5, 1, 2, 3, 5, 8, 13, 20, 30}}),
		talk: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_call_talk_duration_seconds",
			Help:    "How long an agent talked with a visitor, from the answer to a hang-up or a transfer.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 900, 1800, 3600}}),
	}
	reg.MustRegister(o.ring, o.talk)
	return o
}

func (o callObserver) Rang(d time.Duration)   { o.ring.Observe(d.Seconds()) }
func (o callObserver) Talked(d time.Duration) { o.talk.Observe(d.Seconds()) }

// acdCollector reads the ACD's board at each scrape: every group's queue,
// estimate, oldest wait, visitors served and abandoned, and its agents
// by state. Groups and agents come from config, so the label values are
// bounded; agents are counted by state, never named, and an agent with
// several groups' skills counts in each.
type acdCollector struct{ svc *acd.Service }

var (
	acdQueue = prometheus.NewDesc("switchboard_acd_queue_length",
		"Visitors (calls, chats, callbacks) waiting in a group's queue.", []string{"group"}, nil)
	acdEWT = prometheus.NewDesc("switchboard_acd_ewt_seconds",
		"Estimated wait of a visitor arriving now in a group, behind its queue; 0 when an agent is free or the group is closed.", []string{"group"}, nil)
	acdOldest = prometheus.NewDesc("switchboard_acd_oldest_wait_seconds",
		"How long the first visitor in a group's queue has waited; 0 when nobody waits.", []string{"group"}, nil)
	acdServed = prometheus.NewDesc("switchboard_acd_served_total",
		"Visitors who left a group's queue answered by an agent.", []string{"group"}, nil)
	acdAbandoned = prometheus.NewDesc("switchboard_acd_abandoned_total",
		"Visitors who left a group's queue unanswered (hung up, cancelled, failed).", []string{"group"}, nil)
	acdAgents = prometheus.NewDesc("switchboard_acd_agents",
		"Agents with a group's skill, by state.", []string{"group", "state"}, nil)
	acdGroupState = prometheus.NewDesc("switchboard_acd_group_state",
		"A group's availability as visitors see it: 1 for its current state (open, busy, full, closed, after-hours), 0 for the others.",
		[]string{"group", "state"}, nil)
	acdAccepting = prometheus.NewDesc("switchboard_acd_group_accepting",
		"1 while a group takes visitors (open, an agent free or room in its queue), else 0.", []string{"group"}, nil)
)

// groupStates are the states acdGroupState reports.
var groupStates = []string{acd.GroupOpen, acd.GroupBusy, acd.GroupFull, acd.GroupClosed, acd.GroupAfterHours}

func (acdCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{acdQueue, acdEWT, acdOldest, acdServed, acdAbandoned, acdAgents, acdGroupState, acdAccepting} {
		ch <- d
	}
}

func (c acdCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.svc.Board(time.Now())
	agents := make(map[string]map[string]int, len(b.Groups)) // group -> state -> count
	for _, g := range b.Groups {
		agents[g.ID] = map[string]int{}
	}
	for _, a := range b.Agents {
		for _, g := range a.Groups {
			if byState := agents[g]; byState != nil {
				byState[a.State]++
			}
		}
	}
	for _, g := range b.Groups {
		ch <- prometheus.MustNewConstMetric(acdQueue, prometheus.GaugeValue, float64(g.QueueLength), g.ID)
		ch <- prometheus.MustNewConstMetric(acdEWT, prometheus.GaugeValue, g.EWT.Seconds(), g.ID)
		ch <- prometheus.MustNewConstMetric(acdOldest, prometheus.GaugeValue, g.OldestWait.Seconds(), g.ID)
		ch <- prometheus.MustNewConstMetric(acdServed, prometheus.CounterValue, float64(g.ServedTotal), g.ID)
		ch <- prometheus.MustNewConstMetric(acdAbandoned, prometheus.CounterValue, float64(g.AbandonedTotal), g.ID)
		ch <- prometheus.MustNewConstMetric(acdAccepting, prometheus.GaugeValue, boolValue(g.Accepting), g.ID)
		for _, st := range acd.AgentStates() {
			ch <- prometheus.MustNewConstMetric(acdAgents, prometheus.GaugeValue, float64(agents[g.ID][st]), g.ID, st)
		}
		current := g.State()
		for _, st := range groupStates {
			ch <- prometheus.MustNewConstMetric(acdGroupState, prometheus.GaugeValue, boolValue(st == current), g.ID, st)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
