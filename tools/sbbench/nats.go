package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/internal/natstest"
)

// The nats step (issue 16): the PUBLISH and SUBSCRIBE ramps, with short
// steps, against three setups: one node on bbolt, one node on one NATS
// server (replicas 1), three nodes on three NATS servers (replicas 3,
// store.driver nats), the load spread evenly over the nodes, one SIPp
// per node, each with users of its own. The NATS servers are
// natstest.Cluster's, child processes of sbbench, started once per setup
// (a cluster's first meta leader election takes seconds); every step
// deletes the buckets and starts the nodes afresh, which create them.
//
// Besides the highest rate passing and its p99, each step measures over
// the SIPp run the CPU of the nodes and of the NATS servers, and the
// NATS servers' message and byte counters (/varz): what crossed a
// client connection (the nodes' requests, acknowledgements and watch
// deliveries), and what crossed any connection, routes (replication,
// Raft) included. Bytes are the messages' headers and payloads, without
// the protocol's framing. Both are divided by the requests answered 2xx.
var natsSetups = []struct {
	name        string
	natsServers int // 0: bbolt
	nodes       int
	start       map[string]float64 // the ramps' first rates, by metric
}{
	{"1 node, bbolt", 0, 1, map[string]float64{"PUBLISH/s": 6000, "SUBSCRIBE/s": 3000}},
	{"1 node, NATS R1", 1, 1, map[string]float64{"PUBLISH/s": 3500, "SUBSCRIBE/s": 2600}},
	{"3 nodes, NATS R3", 3, 3, map[string]float64{"PUBLISH/s": 1300, "SUBSCRIBE/s": 1100}},
}

// natsBudget caps one ramp of the nats step.
const natsBudget = 25 * time.Second

// natsBuckets are store/natsstore's buckets that the presence ramps
// write, deleted before every step: the step's state, and the members
// (leases) of the nodes before.
var natsBuckets = []string{"switchboard_publications", "switchboard_subscriptions", "switchboard_nodes"}

// natsResult is a step of the nats step with its costs.
type natsResult struct {
	step
	nodeCPU, natsCPU time.Duration // during the SIPp run, summed over the processes
	wire             wire
}

// wire is what the NATS servers counted, summed over them.
type wire struct{ clientMsgs, clientBytes, allMsgs, allBytes int64 }

func (w wire) sub(v wire) wire {
	return wire{w.clientMsgs - v.clientMsgs, w.clientBytes - v.clientBytes, w.allMsgs - v.allMsgs, w.allBytes - v.allBytes}
}

// readWire sums the servers' counters: messages in from clients and out
// to them, and all messages in (from clients and routes: every message
// on a route is counted once, by the server receiving it) plus those out
// to clients.
func readWire(c *natstest.Cluster) (wire, error) {
	var w wire
	for _, s := range c.Servers {
		v, err := s.Varz()
		if err != nil {
			return w, err
		}
		w.clientMsgs += v.InClientMsgs + v.OutClientMsgs
		w.clientBytes += v.InClientBytes + v.OutClientBytes
		w.allMsgs += v.InMsgs + v.OutClientMsgs
		w.allBytes += v.InBytes + v.OutClientBytes
	}
	return w, nil
}

// storeStep runs the store step and returns its rows.
func natsStep(ctx context.Context, o options, env stepEnv, root string) ([][]string, error) {
	o.step, o.budget = o.natsStep, natsBudget
	var rows [][]string
	for _, setup := range natsSetups {
		var cluster *natstest.Cluster
		if setup.natsServers > 0 {
			var err error
			if cluster, err = natstest.StartCluster(filepath.Join(env.tmp, "nats"), setup.natsServers); err != nil {
				return nil, err
			}
		}
		more, err := natsRamps(ctx, o, env, root, setup.name, setup.start, setup.nodes, cluster)
		if cluster != nil {
			cluster.Close()
			os.RemoveAll(filepath.Join(env.tmp, "nats"))
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, more...)
	}
	return rows, nil
}

// natsRamps runs the PUBLISH and SUBSCRIBE ramps of one setup: nodes
// switchboards on cluster, or on bbolt when cluster is nil.
func natsRamps(ctx context.Context, o options, env stepEnv, root, name string, start map[string]float64, nodes int, cluster *natstest.Cluster) ([][]string, error) {
	var rows [][]string
	users := make([]string, nodes)
	for i := range users {
		users[i] = filepath.Join(env.tmp, fmt.Sprintf("users-%d-of-%d.csv", i+1, nodes))
		if err := writeUsers(users[i], i*o.users/nodes, (i+1)*o.users/nodes, o.users); err != nil {
			return nil, err
		}
	}
	for _, sc := range scenarios {
		fmt.Printf("  %s, %s\n", name, sc.metric)
		env.scenario = filepath.Join(root, "testdata", "sipp", sc.file)
		results := map[float64]natsResult{}
		best, err := ramp(o, start[sc.metric], func(rate float64, dur time.Duration) (step, error) {
			r, err := runNATSStep(ctx, env, cluster, users, rate, dur)
			results[rate] = r
			return r.step, err
		})
		if err != nil {
			return nil, err
		}
		rows = append(rows, natsRows(name, strings.TrimSuffix(sc.metric, "/s"), cluster != nil, best, results[best])...)
	}
	return rows, nil
}

// deleteBuckets deletes the store's buckets from cluster, if they are there.
func deleteBuckets(ctx context.Context, cluster *natstest.Cluster) error {
	nc, err := nats.Connect(cluster.URLs())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for _, b := range natsBuckets {
		if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %s: %w", b, err)
		}
	}
	return nil
}

// natsRows are the table's lines for one ramp whose highest passing rate
// was best, r its step.
func natsRows(setup, method string, nats bool, best float64, r natsResult) [][]string {
	per := func(v float64) float64 {
		if best == 0 || r.ok == 0 {
			return math.NaN()
		}
		return v / float64(r.ok)
	}
	p99 := math.NaN()
	if best > 0 {
		p99 = float64(r.p99.Milliseconds())
	}
	rows := [][]string{
		reportRow(method+"/s, "+setup, best, "1/s"),
		reportRow(method+" p99 at that rate, "+setup, p99, "ms"),
		reportRow("node CPU per "+method+", "+setup, per(float64(r.nodeCPU.Microseconds())), "us"),
	}
	if !nats {
		return rows
	}
	return append(rows,
		reportRow("NATS CPU per "+method+", "+setup, per(float64(r.natsCPU.Microseconds())), "us"),
		reportRow("NATS msgs per "+method+", client links, "+setup, per(float64(r.wire.clientMsgs)), ""),
		reportRow("NATS bytes per "+method+", client links, "+setup, per(float64(r.wire.clientBytes)), "B"),
		reportRow("NATS msgs per "+method+", all links, "+setup, per(float64(r.wire.allMsgs)), ""),
		reportRow("NATS bytes per "+method+", all links, "+setup, per(float64(r.wire.allBytes)), "B"))
}

// runNATSStep starts one node per injection file in users, on cluster
// (with its buckets deleted first) or on bbolt when cluster is nil, runs
// one SIPp per node at its share of rate for dur, and stops the nodes.
func runNATSStep(ctx context.Context, env stepEnv, cluster *natstest.Cluster, users []string, rate float64, dur time.Duration) (natsResult, error) {
	r := natsResult{step: step{rate: rate}}
	dir, err := os.MkdirTemp(env.tmp, "step-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	store := []string{"--set", "shutdown.grace=0s"} // no drain: the next step waits
	if cluster != nil {
		if err := deleteBuckets(ctx, cluster); err != nil {
			return r, err
		}
		store = append(store, "--set", "store.driver=nats", "--set", "store.nats.urls="+cluster.URLs(),
			"--set", fmt.Sprintf("store.nats.replicas=%d", len(cluster.Servers)))
	}
	nodes := make([]*server, len(users))
	for i := range nodes {
		ndir := filepath.Join(dir, fmt.Sprintf("node%d", i+1))
		if err := os.Mkdir(ndir, 0o755); err != nil {
			return r, err
		}
		args := store
		if cluster != nil {
			args = slices.Concat(store, []string{"--set", fmt.Sprintf("store.nats.node=node%d", i+1)})
		}
		srv, err := startServer(ctx, env.bin, ndir, args...)
		if err != nil {
			return r, err
		}
		defer srv.stop()
		nodes[i] = srv
	}
	var pids []int
	for _, n := range nodes {
		pids = append(pids, n.cmd.Process.Pid)
	}
	nodeCPU := func() (time.Duration, error) { return sumCPU(pids) }
	natsCPU := func() (time.Duration, error) { return 0, nil }
	wireNow := func() (wire, error) { return wire{}, nil }
	if cluster != nil {
		var npids []int
		for _, s := range cluster.Servers {
			npids = append(npids, s.Pid())
		}
		natsCPU = func() (time.Duration, error) { return sumCPU(npids) }
		wireNow = func() (wire, error) { return readWire(cluster) }
	}
	nodeBefore, err1 := nodeCPU()
	natsBefore, err2 := natsCPU()
	wireBefore, err3 := wireNow()
	if err := errors.Join(err1, err2, err3); err != nil {
		return r, err
	}

	parts := make([]step, len(nodes))
	recs := make([]record, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		sdir := filepath.Join(dir, fmt.Sprintf("sipp%d", i+1))
		if err := os.Mkdir(sdir, 0o755); err != nil {
			return r, err
		}
		wg.Go(func() {
			parts[i], recs[i], errs[i] = runSIPp(ctx, env, sdir, users[i], n.sip, math.Round(rate/float64(len(nodes))), dur)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}

	nodeAfter, err1 := nodeCPU()
	natsAfter, err2 := natsCPU()
	wireAfter, err3 := wireNow()
	if err := errors.Join(err1, err2, err3); err != nil {
		return r, err
	}
	r.nodeCPU, r.natsCPU, r.wire = nodeAfter-nodeBefore, natsAfter-natsBefore, wireAfter.sub(wireBefore)
	r.step = mergeSteps(rate, parts, recs)
	for _, n := range nodes {
		cpu, rss := n.stop()
		r.serverCPU += cpu
		r.serverRSS = max(r.serverRSS, rss)
	}
	fmt.Printf("    at %.0f/s, per call answered: node CPU %.0f us", rate, perCall(r.nodeCPU.Microseconds(), r.ok))
	if cluster != nil {
		fmt.Printf(", NATS CPU %.0f us, NATS msgs %.1f client / %.1f all, bytes %.0f client / %.0f all",
			perCall(r.natsCPU.Microseconds(), r.ok), perCall(r.wire.clientMsgs, r.ok), perCall(r.wire.allMsgs, r.ok),
			perCall(r.wire.clientBytes, r.ok), perCall(r.wire.allBytes, r.ok))
	}
	fmt.Println()
	return r, nil
}

func perCall(v int64, calls int) float64 { return float64(v) / float64(max(calls, 1)) }

// sumCPU is the CPU time the processes used so far.
func sumCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		cpu, err := procCPU(pid)
		if err != nil {
			return 0, err
		}
		sum += cpu
	}
	return sum, nil
}

// mergeSteps adds up the SIPp runs of one step at rate: counts and rates
// summed, percentiles read off the summed repartitions, the mean call
// length weighted by the calls.
func mergeSteps(rate float64, parts []step, recs []record) step {
	s := step{rate: rate}
	sum := record{}
	var callLen float64
	for i, p := range parts {
		s.calls += p.calls
		s.ok += p.ok
		s.failed += p.failed
		s.refused += p.refused
		s.retrans += p.retrans
		s.achieved += p.achieved
		s.sippCPU += p.sippCPU
		s.elapsed = max(s.elapsed, p.elapsed)
		callLen += float64(p.callLen) * float64(p.ok)
		for k := range recs[i] {
			if strings.HasPrefix(k, "CallLengthRepartition_") {
				sum[k] = fmt.Sprint(sum.num(k) + recs[i].num(k))
			}
		}
	}
	s.callLen = time.Duration(callLen / float64(max(s.ok, 1)))
	s.p50, s.p99 = percentile(sum, 0.50), percentile(sum, 0.99)
	return s
}
