package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Targets of the calls step: rtpengine's relay CPU per call (userspace
// forwarding, percent of one core) and the added latency at the lowest
// level.
const (
	rtpengineCPULow, rtpengineCPUHigh = 0.18, 0.26
	callLatencyTarget                 = 1.0 // ms, p50 at 100 calls
	callLatencyLevel                  = 100
)

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
	m := scrape(r.srv.metrics)
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
