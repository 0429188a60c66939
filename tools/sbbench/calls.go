package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/calltest"
)

// The calls step: concurrent bridged calls, browser ↔ switchboard ↔ agent,
// at rising levels (100, 300, 500 by default), each held for a measuring
// window.
//
//   - switchboard runs as its own process with a generated configuration:
//     maxLevel+callAgentMargin agents in one group (max_sessions 1, each
//     with a sip.auth user), queue_limit 0, ICE on 127.0.0.1 only.
//   - The agents' phones are callSIPps SIPp UAS processes
//     (testdata/sipp/agent_uas.xml with -rtp_echo: every RTP packet goes
//     back to its source byte for byte); sbbench REGISTERs every agent
//     with a Contact at one of them, round robin.
//   - The visitors are calltest.Browser peers in this process (pion,
//     DTLS-SRTP, 50 G.711 packets/s each, every other one a probe whose
//     echo gives a round-trip time), placed with POST /v1/calls at
//     callPlaceRate per second. Levels grow: 100 calls, then 200 more,
//     and so on; every call stays up to the end.
//   - callControls control calls run all along from the same browsers'
//     code to a bare pion echo peer in a process of its own (echopeer.go):
//     the same round trip without switchboard and the SIP phone, under
//     the same load on this machine.
//
// A level is measured once every call placed echoes: all browsers mute,
// the pipes drain (callDrain), counters are read, the browsers unmute for
// the window, mute again, drain, and counters are read again. So packets
// sent in the window and their echoes are counted alike, none in flight.
//
//   - Loss end to end: 1 − echoes received / packets sent by the bridged
//     calls' browsers over the window: anything lost anywhere on the loop
//     (browser → relay → SIPp → relay → browser) counts. Switchboard's
//     relayed-packet counters and the kernel's per-socket UDP drops, by
//     process, tell where; loss in switchboard is what its counters did
//     not pass on, the drops at SIPp's sockets set apart (relayLost).
//   - Relay CPU per call: switchboard's utime+stime (/proc/<pid>/stat)
//     over the window (traffic flowing), divided by the window and by the
//     calls, in percent of one core, scaled to callPacketRate when the
//     browsers sent less. Switchboard's periodic re-PUBLISH of every
//     agent (acd.publish_interval, a cost of the agents, not of the
//     calls) is set to 1h so that it falls outside the windows.
//   - Added one-way latency: (RTT through switchboard − RTT of the control
//     calls) / 2, percentile by percentile (p50 of one minus p50 of the
//     other, likewise p99), over the probes echoed in the window. It
//     includes the SIPp echo and two loopback hops besides the relay; the
//     halving assumes both directions cost alike.
const (
	callAgentMargin = 20
	callSIPps       = 4 // SIPp answering processes, so that no echo socket carries all the traffic
	callPlaceRate   = 50
	callPlaceWait   = 30 * time.Second // for one call to be bridged and echo
	callProbeEvery  = 40 * time.Millisecond
	callControls    = 20
	callSettle      = 2 * time.Second
	callDrain       = 500 * time.Millisecond
	callGroup       = "bench"
	callPacketRate  = 50 // G.711 packets per second a browser sends
	callIdleWindow  = 3 * time.Second
)

// Targets of the calls step: rtpengine's relay CPU per call (userspace
// forwarding, percent of one core) and the added latency at the lowest
// level.
const (
	rtpengineCPULow, rtpengineCPUHigh = 0.18, 0.26
	callLatencyTarget                 = 1.0 // ms, p50 at 100 calls
	callLatencyLevel                  = 100
)

// benchCall is one browser's call: through switchboard (id set) or a
// control call to the echo peer.
type benchCall struct {
	b       *calltest.Browser
	id      string
	bridged bool // its echo came back
}

// callLevel is what one level measured.
type callLevel struct {
	target, calls, failed int
	window                time.Duration
	sent, recv            uint64
	toPhone, toBrowser    float64 // relayed over the window, NaN when switchboard has no such metric
	drops                 map[string]uint64
	cpu                   map[string]time.Duration // by process over the window
	busy                  float64                  // share of the machine's cores busy over the window
	rtt, ctrl             []time.Duration          // probes through switchboard, control probes
}

// packetRate is what each browser sent, packets per second.
func (l callLevel) packetRate() float64 {
	if l.calls == 0 || l.window <= 0 {
		return math.NaN()
	}
	return float64(l.sent) / l.window.Seconds() / float64(l.calls)
}

// saturated tells whether the host ran out of CPU: every core busy, or
// browsers that could not keep their 50 packets per second.
func (l callLevel) saturated() bool {
	return l.busy >= 0.95 || l.packetRate() < 0.95*callPacketRate
}

// loss is the share of packets sent that did not come back, in percent.
func (l callLevel) loss() float64 {
	if l.sent == 0 {
		return math.NaN()
	}
	return 100 * (1 - float64(min(l.recv, l.sent))/float64(l.sent))
}

// relayLost splits the packets lost in the window: before switchboard
// sent them on to the phone (dropped at its browser-side socket or
// inside it), between that and its relaying of the echo to the browser
// (SIPp's socket drops apart), and after (at the browser). NaN when
// switchboard has no relay counters.
func (l callLevel) relayLost() (in, loop, out float64) {
	in = float64(l.sent) - l.toPhone
	loop = max(0, l.toPhone-l.toBrowser-float64(l.drops["SIPp"]))
	out = l.toBrowser - float64(l.recv)
	return in, loop, out
}

// relayLoss is the share of the packets sent that switchboard lost, in
// percent (NaN without its relay counters).
func (l callLevel) relayLoss() float64 {
	in, loop, _ := l.relayLost()
	if l.sent == 0 || math.IsNaN(in+loop) {
		return math.NaN()
	}
	return 100 * max(0, in+loop) / float64(l.sent)
}

// cpuPerCall is switchboard's CPU per call in percent of one core, scaled
// to calls of callPacketRate packets per second each way (the same as
// unscaled unless the browsers fell behind).
func (l callLevel) cpuPerCall() float64 {
	sb, ok := l.cpu["switchboard"]
	rate := l.packetRate()
	if !ok || math.IsNaN(rate) || rate == 0 {
		return math.NaN()
	}
	return 100 * sb.Seconds() / l.window.Seconds() / float64(l.calls) * callPacketRate / rate
}

// added is the added one-way latency at quantile q, in ms.
func (l callLevel) added(q float64) float64 {
	a, b := quantile(l.rtt, q), quantile(l.ctrl, q)
	if a < 0 || b < 0 {
		return math.NaN()
	}
	return ms(a-b) / 2
}

// quantile of sorted durations, -1 when there are none.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return -1
	}
	return d[min(len(d)-1, int(float64(len(d))*q))]
}

// callRun is the calls step's state.
type callRun struct {
	srv      *server
	sipps    []*exec.Cmd
	echo     *echoPeer
	client   *http.Client
	calls    []*benchCall // through switchboard, in order placed
	controls []*benchCall
	placed   int      // calls tried
	failed   int      // of which failed
	failures []string // first errors, for the report
	mu       sync.Mutex
}

// callsStep runs the calls step and returns the rows of the final table.
func callsStep(ctx context.Context, env stepEnv, root string, levels []int, window time.Duration) ([][]string, error) {
	dir, err := os.MkdirTemp(env.tmp, "calls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	nAgents := slices.Max(levels) + callAgentMargin
	cfg, err := writeCallConfig(dir, nAgents)
	if err != nil {
		return nil, err
	}
	r := &callRun{client: &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}
	defer r.close()
	if r.srv, err = startServer(ctx, env.bin, dir, "--config", cfg); err != nil {
		return nil, err
	}
	sippPorts, err := r.startSIPps(ctx, env.sipp, filepath.Join(root, "testdata", "sipp", "agent_uas.xml"), dir)
	if err != nil {
		return nil, err
	}
	if r.echo, err = startEchoPeer(ctx, filepath.Join(dir, "echopeer.log")); err != nil {
		return nil, err
	}
	w, err := newWatcher() // its SIP client sends the REGISTERs
	if err != nil {
		return nil, err
	}
	defer w.close()
	if err := registerAgents(ctx, w.client, r.srv.sip, nAgents, sippPorts); err != nil {
		return nil, err
	}
	fmt.Printf("  switchboard with %d agents in one group; %d SIPp UAS (-rtp_echo) answer for them; %d control calls to a pion echo peer\n",
		nAgents, callSIPps, callControls)
	if err := r.startControls(ctx); err != nil {
		return nil, err
	}
	idle, err := procCPU(r.srv.cmd.Process.Pid)
	if err != nil {
		return nil, fmt.Errorf("switchboard's CPU time: %w", err)
	}
	if err := sleepCtx(ctx, callIdleWindow); err != nil {
		return nil, err
	}
	idleEnd, _ := procCPU(r.srv.cmd.Process.Pid)
	idleCores := (idleEnd - idle).Seconds() / callIdleWindow.Seconds()
	fmt.Printf("  switchboard without calls: %.3f cores\n", idleCores)

	var res []callLevel
	for _, target := range levels {
		start := time.Now()
		r.placeUpTo(ctx, target)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		placed := time.Since(start)
		if err := sleepCtx(ctx, callSettle); err != nil {
			return nil, err
		}
		l, err := r.measure(ctx, target, window)
		if err != nil {
			return nil, err
		}
		prev := callLevel{cpu: map[string]time.Duration{"switchboard": time.Duration(idleCores * float64(time.Second))}, window: time.Second}
		if len(res) > 0 {
			prev = res[len(res)-1]
		}
		l.print(placed, prev)
		res = append(res, l)
	}
	r.mu.Lock()
	for _, f := range r.failures {
		fmt.Println("  failed call:", f)
	}
	r.mu.Unlock()
	r.hangUp(ctx)
	return callRows(res), nil
}

// writeCallConfig writes switchboard's configuration: n agents with the
// skill of the one group, each a sip.auth user.
func writeCallConfig(dir string, n int) (string, error) {
	var c strings.Builder
	c.WriteString("sip:\n  auth:\n    users:\n      - {name: acd, password: acd-secret}\n      - {name: web, password: web-secret}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "      - {name: agent%d, password: agent%d-secret}\n", i, i)
	}
	c.WriteString("acd:\n  publish_interval: 1h\n  wrap_up: 0s\n  agents:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "    - {uri: \"sip:agent%d@example.com\", name: Agent %d, skills: {%s: 3}, max_sessions: 1}\n", i, i, callGroup)
	}
	fmt.Fprintf(&c, "  groups:\n    - {id: %s, name: Bench, skill: %s, min_proficiency: 1, queue_limit: 0}\n", callGroup, callGroup)
	c.WriteString("calls:\n  ring_timeout: 60s\n")
	c.WriteString("media:\n  rtp_port_min: 20000\n  rtp_port_max: 29999\n  connect_timeout: 30s\n  ice:\n    host_ips: [127.0.0.1]\n")
	path := filepath.Join(dir, "calls.yaml")
	return path, os.WriteFile(path, []byte(c.String()), 0o644)
}

// startSIPps starts the SIPp UAS processes and returns their SIP ports.
func (r *callRun) startSIPps(ctx context.Context, sipp, scenario, dir string) ([]int, error) {
	var ports []int
	for k := range callSIPps {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		sdir := filepath.Join(dir, fmt.Sprintf("sipp%d", k))
		if err := os.Mkdir(sdir, 0o755); err != nil {
			return nil, err
		}
		// SIPp moves up from -mp in steps of two to a free pair.
		cmd := exec.Command(sipp, "-sf", scenario, "-i", loopback, "-p", p, "-mi", loopback,
			"-mp", fmt.Sprint(16000+100*k), "-rtp_echo", "-nostdin", "-trace_err")
		cmd.Dir, cmd.SysProcAttr = sdir, childAttr()
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		r.sipps = append(r.sipps, cmd)
		ports = append(ports, port)
	}
	// Ready once each holds its SIP port.
	for deadline := time.Now().Add(10 * time.Second); ; {
		bound := 0
		for _, port := range ports {
			c, err := net.ListenPacket("udp", net.JoinHostPort(loopback, strconv.Itoa(port)))
			if err != nil {
				bound++
			} else {
				c.Close()
			}
		}
		if bound == len(ports) {
			return ports, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("SIPp UAS: %d of %d listening after 10 s", bound, len(ports))
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// registerAgents REGISTERs agent1..agentN at server (UDP) with a Contact
// at one of the SIPp ports, round robin, 32 at a time.
func registerAgents(ctx context.Context, client *sipgo.Client, server string, n int, ports []int) error {
	jobs, errs := make(chan int), make(chan error, n)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				user := fmt.Sprintf("agent%d", i)
				aor := sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}
				req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "example.com"})
				from := &sipmsg.FromHeader{Address: aor, Params: sipmsg.NewParams()}
				from.Params.Add("tag", sipmsg.GenerateTagN(8))
				req.AppendHeader(from)
				req.AppendHeader(&sipmsg.ToHeader{Address: aor})
				req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: loopback, Port: ports[i%len(ports)]}})
				req.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
				req.SetDestination(server)
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				res, err := client.Do(rctx, req)
				if err == nil && res != nil && (res.StatusCode == 401 || res.StatusCode == 407) {
					res, err = client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: user, Password: user + "-secret"})
				}
				cancel()
				switch {
				case err == nil && res == nil:
					err = errors.New("no answer")
				case err == nil && res.StatusCode/100 != 2:
					err = fmt.Errorf("%d %s", res.StatusCode, res.Reason)
				}
				if err != nil {
					errs <- fmt.Errorf("REGISTER %s: %w", user, err)
				}
			}
		})
	}
	for i := 1; i <= n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs // nil when none
}

// startControls connects the control calls to the echo peer and waits
// for their echoes.
func (r *callRun) startControls(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, callControls)
	for range callControls {
		wg.Go(func() {
			c, err := r.connect(ctx, func(ctx context.Context, offer string) (string, error) {
				return r.echo.answer(ctx, r.client, offer)
			}, nil)
			if c != nil {
				r.mu.Lock()
				r.controls = append(r.controls, c)
				r.mu.Unlock()
			}
			if err != nil {
				errs <- fmt.Errorf("control call: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// connect creates a browser, connects it with post and waits until its
// audio comes back. The call is returned even on error once the browser
// exists, so that it is closed (and hung up) with the others.
func (r *callRun) connect(ctx context.Context, post func(context.Context, string) (string, error), id *string) (*benchCall, error) {
	b, err := calltest.NewBrowser(calltest.BrowserOptions{ProbeEvery: callProbeEvery, NoRTCPReports: true})
	if err != nil {
		return nil, err
	}
	c := &benchCall{b: b}
	ctx, cancel := context.WithTimeout(ctx, callPlaceWait)
	defer cancel()
	err = b.Connect(ctx, post)
	if id != nil {
		c.id = *id
	}
	if err != nil {
		return c, err
	}
	if err := b.WaitConnected(ctx); err != nil {
		return c, err
	}
	for b.PacketsReceived() == 0 {
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return c, fmt.Errorf("no echo within %s (%d packets sent)", callPlaceWait, b.PacketsSent())
		}
	}
	c.bridged = true
	return c, nil
}

// placeCall places one call through switchboard.
func (r *callRun) placeCall(ctx context.Context) (*benchCall, error) {
	var id string
	return r.connect(ctx, func(ctx context.Context, offer string) (string, error) {
		body, _ := json.Marshal(map[string]string{"group": callGroup, "sdp": offer})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.srv.http+"/v1/calls", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := r.client.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return "", fmt.Errorf("POST /v1/calls: %d %s", res.StatusCode, bytes.TrimSpace(b))
		}
		var v struct {
			ID  string `json:"call_id"`
			SDP string `json:"sdp"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		id = v.ID
		return v.SDP, nil
	}, &id)
}

// placeUpTo places calls at callPlaceRate until target have been placed
// in all, and waits until each is bridged or failed.
func (r *callRun) placeUpTo(ctx context.Context, target int) {
	tick := time.NewTicker(time.Second / callPlaceRate)
	defer tick.Stop()
	var wg sync.WaitGroup
	for ; r.placed < target; r.placed++ {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			c, err := r.placeCall(ctx)
			r.mu.Lock()
			defer r.mu.Unlock()
			if c != nil {
				r.calls = append(r.calls, c)
			}
			if err != nil {
				r.failed++
				if len(r.failures) < 5 {
					r.failures = append(r.failures, err.Error())
				}
			}
		})
	}
	wg.Wait()
}

// counters is what the browsers and switchboard counted at one moment.
type counters struct {
	sent, recv         uint64
	rtts, ctrl         []int // EchoRTTs lengths, by call
	toPhone, toBrowser float64
	drops              map[uint64]uint64
}

// measure runs one level's window over the bridged calls.
func (r *callRun) measure(ctx context.Context, target int, window time.Duration) (callLevel, error) {
	r.mu.Lock()
	var live []*benchCall
	for _, c := range r.calls {
		if c.bridged {
			live = append(live, c)
		}
	}
	l := callLevel{target: target, calls: len(live), failed: r.failed}
	r.mu.Unlock()
	all := append(slices.Clone(live), r.controls...)
	mute := func(on bool) {
		for _, c := range all {
			c.b.Mute(on)
		}
	}
	pids := map[int]string{r.srv.cmd.Process.Pid: "switchboard", os.Getpid(): "sbbench", r.echo.cmd.Process.Pid: "echo peer"}
	for _, s := range r.sipps {
		pids[s.Process.Pid] = "SIPp"
	}
	cpu := func() (map[string]time.Duration, int64, int64) {
		m := map[string]time.Duration{}
		for pid, name := range pids {
			if d, err := procCPU(pid); err == nil {
				m[name] += d
			}
		}
		busy, total, _ := machineCPU()
		return m, busy, total
	}

	mute(true)
	if err := sleepCtx(ctx, callDrain); err != nil {
		return l, err
	}
	a := r.read(live)
	mute(false)
	cpuA, busyA, totalA := cpu()
	t0 := time.Now()
	if err := sleepCtx(ctx, window); err != nil {
		return l, err
	}
	cpuB, busyB, totalB := cpu()
	mute(true)
	l.window = time.Since(t0)
	if err := sleepCtx(ctx, callDrain); err != nil {
		return l, err
	}
	b := r.read(live)
	owners := socketOwners(pids)
	mute(false)

	l.sent, l.recv = b.sent-a.sent, b.recv-a.recv
	l.toPhone, l.toBrowser = b.toPhone-a.toPhone, b.toBrowser-a.toBrowser
	l.drops = dropsBetween(a.drops, b.drops, owners)
	l.cpu = map[string]time.Duration{}
	for name, d := range cpuB {
		l.cpu[name] = d - cpuA[name]
	}
	if totalB > totalA {
		l.busy = float64(busyB-busyA) / float64(totalB-totalA)
	}
	for i, c := range live {
		rtts := c.b.EchoRTTs()
		l.rtt = append(l.rtt, rtts[min(len(rtts), a.rtts[i]):]...)
	}
	for i, c := range r.controls {
		rtts := c.b.EchoRTTs()
		l.ctrl = append(l.ctrl, rtts[min(len(rtts), a.ctrl[i]):]...)
	}
	slices.Sort(l.rtt)
	slices.Sort(l.ctrl)
	return l, nil
}

// read takes the counters of the live calls, the control calls and
// switchboard.
func (r *callRun) read(live []*benchCall) counters {
	var c counters
	for _, call := range live {
		c.sent += call.b.PacketsSent()
		c.recv += call.b.PacketsReceived()
		c.rtts = append(c.rtts, len(call.b.EchoRTTs()))
	}
	for _, call := range r.controls {
		c.ctrl = append(c.ctrl, len(call.b.EchoRTTs()))
	}
	m := scrape(r.srv.http)
	c.toPhone = m.value(`switchboard_rtp_packets_relayed_total{direction="to_phone"}`)
	c.toBrowser = m.value(`switchboard_rtp_packets_relayed_total{direction="to_browser"}`)
	c.drops = udpDrops()
	return c
}

// value is the value of one series given whole (name and labels), NaN
// when absent.
func (m metrics) value(series string) float64 {
	for _, line := range m {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return math.NaN()
}

// print reports one level in detail; prev is the level before (or the
// idle server, no calls) for the CPU each added call cost.
func (l callLevel) print(placed time.Duration, prev callLevel) {
	secs := l.window.Seconds()
	fmt.Printf("  %d calls: %d bridged, %d failed so far (placed in %.1f s); window %.1f s\n", l.target, l.calls, l.failed, placed.Seconds(), secs)
	fmt.Printf("    browsers sent %d packets (%.1f/s per call), got %d echoes back: loss %.4f%% end to end, %.4f%% in switchboard\n",
		l.sent, l.packetRate(), l.recv, l.loss(), l.relayLoss())
	drops := "none"
	if len(l.drops) > 0 {
		var parts []string
		for name, n := range l.drops {
			parts = append(parts, fmt.Sprintf("%s %d", name, n))
		}
		slices.Sort(parts)
		drops = strings.Join(parts, ", ")
	}
	in, loop, out := l.relayLost()
	fmt.Printf("    switchboard relayed %.0f to phones, %.0f to browsers; kernel UDP receive drops: %s\n", l.toPhone, l.toBrowser, drops)
	fmt.Printf("    lost before switchboard relayed them %.0f, between phone and browser legs %.0f (not counting SIPp's drops), after it %.0f\n", in, loop, out)
	var cpus []string
	ours := 0.0
	for _, name := range []string{"switchboard", "sbbench", "SIPp", "echo peer"} {
		c := l.cpu[name].Seconds() / secs
		ours += c
		cpus = append(cpus, fmt.Sprintf("%s %.2f", name, c))
	}
	cores := float64(runtime.NumCPU())
	sat := ""
	if l.saturated() {
		sat = " (saturated)"
	}
	fmt.Printf("    CPU in cores: %s, other processes %.2f; machine %.0f%% busy of %.0f cores%s\n",
		strings.Join(cpus, ", "), max(0, l.busy*cores-ours), 100*l.busy, cores, sat)
	sbNow := l.cpu["switchboard"].Seconds() / secs
	sbPrev := prev.cpu["switchboard"].Seconds() / prev.window.Seconds()
	fmt.Printf("    relay CPU per call %.3f%% of a core (at %d packets/s); each call added since the level before: %.3f%%\n",
		l.cpuPerCall(), callPacketRate, 100*(sbNow-sbPrev)/float64(l.calls-prev.calls))
	q := func(d []time.Duration, p float64) string {
		if v := quantile(d, p); v >= 0 {
			return fmt.Sprintf("%.3f ms", ms(v))
		}
		return "n/a"
	}
	fmt.Printf("    RTT via switchboard p50 %s p99 %s (%d probes); control p50 %s p99 %s (%d probes); added one-way p50 %.3f ms p99 %.3f ms\n",
		q(l.rtt, .5), q(l.rtt, .99), len(l.rtt), q(l.ctrl, .5), q(l.ctrl, .99), len(l.ctrl), l.added(.5), l.added(.99))
}

// callRows are the calls step's lines of the final table. A level the
// host could not carry (saturated) says so in its status: its figures
// measure this machine more than switchboard.
func callRows(levels []callLevel) [][]string {
	var rows [][]string
	var best, bestRelay callLevel
	for _, l := range levels {
		if l.calls >= l.target && l.loss() == 0 {
			best = l
		}
		if l.calls >= l.target && l.relayLoss() == 0 {
			bestRelay = l
		}
	}
	for _, s := range []struct {
		what string
		l    callLevel
	}{{"end to end", best}, {"in switchboard", bestRelay}} {
		status := "below target"
		if s.l.target >= 500 {
			status = "ok"
		}
		if s.l.target > 0 && s.l.saturated() {
			status += ", host saturated"
		}
		rows = append(rows, []string{"concurrent bridged calls, 0 loss " + s.what, strconv.Itoa(s.l.target), "calls", ">= 500", status})
	}
	for _, l := range levels {
		name := fmt.Sprintf("calls %d:", l.target)
		st := func(ok bool, v float64) string {
			s := "below target"
			switch {
			case math.IsNaN(v):
				return "not measured"
			case ok:
				s = "ok"
			}
			if l.saturated() {
				s += ", host saturated"
			}
			return s
		}
		report := func(metric string, v float64, unit string) []string {
			r := reportRow(metric, v, unit)
			if l.saturated() && !math.IsNaN(v) {
				r[4] += ", host saturated"
			}
			return r
		}
		loss, relayLoss, cpu := l.loss(), l.relayLoss(), l.cpuPerCall()
		rows = append(rows,
			[]string{name + " bridged", strconv.Itoa(l.calls), "calls", fmt.Sprintf(">= %d", l.target), st(l.calls >= l.target, 0)},
			[]string{name + " packet loss, end to end", fmt.Sprintf("%.3g", loss), "%", "0", st(loss == 0, loss)},
			[]string{name + " packet loss in switchboard", fmt.Sprintf("%.3g", relayLoss), "%", "0", st(relayLoss == 0, relayLoss)},
			[]string{name + " relay CPU per call", fmt.Sprintf("%.3g", cpu), "% of a core",
				fmt.Sprintf("<= %g (rtpengine %g-%g)", rtpengineCPUHigh, rtpengineCPULow, rtpengineCPUHigh), st(cpu <= rtpengineCPUHigh, cpu)})
		p50, p99 := l.added(.5), l.added(.99)
		if l.target == callLatencyLevel {
			rows = append(rows, []string{name + " added one-way latency p50", fmt.Sprintf("%.3g", p50), "ms",
				fmt.Sprintf("< %g", callLatencyTarget), st(p50 < callLatencyTarget, p50)})
		} else {
			rows = append(rows, report(name+" added one-way latency p50", p50, "ms"))
		}
		rows = append(rows, report(name+" added one-way latency p99", p99, "ms"))
	}
	return rows
}

// callNotes explain the calls step's figures under the table.
var callNotes = []string{
	"calls: browsers are pion peers in sbbench (DTLS-SRTP, 50 G.711 packets/s), agents SIPp UAS with -rtp_echo; all on 127.0.0.1, sharing this host's cores",
	"calls: loss end to end = 1 - echoes received / packets sent by the browsers over the window (muted and drained at both edges); in switchboard = the part",
	"       its relay counters did not pass on (sent - relayed to phones, plus relayed to phones - relayed to browsers - kernel drops at SIPp's sockets)",
	"calls: relay CPU per call = switchboard utime+stime (/proc/<pid>/stat) over the window / window / calls, scaled to 50 packets/s if the browsers fell",
	"       behind; switchboard's periodic re-PUBLISH of every agent is moved out of the window (acd.publish_interval 1h)",
	"calls: added one-way latency = (probe RTT through switchboard and SIPp - probe RTT of control calls to a bare pion echo process) / 2, per percentile",
	"calls: \"host saturated\": every core busy or browsers below 95% of 50 packets/s; such a level measures the shared host as much as switchboard",
}

// hangUp ends every call through switchboard (DELETE) and closes every
// browser.
func (r *callRun) hangUp(ctx context.Context) {
	r.mu.Lock()
	calls := slices.Clone(r.calls)
	r.mu.Unlock()
	jobs := make(chan *benchCall)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for c := range jobs {
				if c.id != "" && r.srv != nil {
					if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+r.srv.http+"/v1/calls/"+c.id, nil); err == nil {
						if res, err := r.client.Do(req); err == nil {
							res.Body.Close()
						}
					}
				}
				c.b.Close()
			}
		})
	}
	for _, c := range calls {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// close ends whatever the step started.
func (r *callRun) close() {
	r.hangUp(context.Background())
	for _, c := range r.controls {
		c.b.Close()
	}
	if r.srv != nil {
		r.srv.stop()
	}
	if r.echo != nil {
		r.echo.stop()
	}
	for _, s := range r.sipps {
		s.Process.Kill()
		s.Wait()
	}
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
