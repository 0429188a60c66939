package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// The agents step: how many agent state changes per second reach watchers
// when the roles are split. One switchboard runs roles=presence, another
// roles=acd publishing to it (acd.publish_interval 5s, min_publish_gap
// 100ms, auth off) with n generated agents (sip:agent1@example.com...,
// support 3) and one group. Watchers in this process subscribe to every
// agent on the presence server; SIPp (testdata/sipp/agents.xml) plays the
// agents' phones on the ACD: all n register and then change between away
// and open every 500–1000 ms, agentChanges times each.
const (
	agentChanges = 30 // per agent: about 23 s of changes
	agentGapMin  = 500 * time.Millisecond
	agentGapMax  = 1000 * time.Millisecond
)

// agentResult is what the agents step measured; rates are NaN when not
// measured.
type agentResult struct {
	sent, seen         int     // away<->available changes sent by SIPp, seen by watchers
	sentRate, seenRate float64 // per second, each over its own first-to-last span
	p50, p99, worst    time.Duration
}

// ratio is the share of the changes sent that watchers saw, in percent.
func (r agentResult) ratio() float64 {
	if r.sent == 0 {
		return math.NaN()
	}
	return 100 * float64(r.seen) / float64(r.sent)
}

// rows are the lines of the final table.
func (r agentResult) rows() [][]string {
	ms := func(d time.Duration) float64 {
		if d < 0 {
			return math.NaN()
		}
		return float64(d) / float64(time.Millisecond)
	}
	return [][]string{
		reportRow("agent state changes/s sent (SIPp)", r.sentRate, "1/s"),
		reportRow("agent state changes/s reaching watchers", r.seenRate, "1/s"),
		reportRow("agent changes reaching watchers", r.ratio(), "%"),
		reportRow("agent change to NOTIFY, p50", ms(r.p50), "ms"),
		reportRow("agent change to NOTIFY, p99", ms(r.p99), "ms"),
	}
}

// reportRow is a table line without a target: the figure is reported.
func reportRow(metric string, v float64, unit string) []string {
	if math.IsNaN(v) {
		return []string{metric, "n/a", unit, "report", "not measured"}
	}
	value := fmt.Sprintf("%.4g", v)
	if unit == "1/s" {
		value = fmt.Sprintf("%.0f", v)
	}
	return []string{metric, value, unit, "report", "measured"}
}

// agentsStep runs the agents step with n agents and prints what it saw.
func agentsStep(ctx context.Context, env stepEnv, root string, n int) (agentResult, error) {
	res := agentResult{sentRate: math.NaN(), seenRate: math.NaN(), p50: -1, p99: -1, worst: -1}
	dir, err := os.MkdirTemp(env.tmp, "agents-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfg, users, err := writeAgents(dir, n)
	if err != nil {
		return res, err
	}
	presDir, acdDir := filepath.Join(dir, "presence"), filepath.Join(dir, "acd")
	if err := errors.Join(os.Mkdir(presDir, 0o755), os.Mkdir(acdDir, 0o755)); err != nil {
		return res, err
	}
	pres, err := startServer(ctx, env.bin, presDir, "--set", "roles=presence")
	if err != nil {
		return res, err
	}
	defer pres.stop()
	acdSrv, err := startServer(ctx, env.bin, acdDir, "--config", cfg, "--set", "roles=acd",
		"--set", "acd.presence_server=sip:"+pres.sip, "--set", "acd.publish_interval=5s",
		"--set", "acd.min_publish_gap=100ms")
	if err != nil {
		return res, err
	}
	defer acdSrv.stop()

	w, err := newWatcher()
	if err != nil {
		return res, err
	}
	defer w.close()
	agents := make([]string, n)
	for i := range agents {
		agents[i] = fmt.Sprintf("agent%d", i+1)
	}
	if err := w.subscribe(ctx, pres.sip, agents); err != nil {
		return res, err
	}

	sippPort, err := freeAddr() // not 5060: another host process may publish there
	if err != nil {
		return res, err
	}
	_, port, _ := net.SplitHostPort(sippPort)
	rate := max(1, n/2)
	limit := time.Duration(n/rate+2)*time.Second + (agentChanges+1)*agentGapMax + 20*time.Second
	sctx, cancel := context.WithTimeout(ctx, limit+15*time.Second)
	defer cancel()
	stat := filepath.Join(dir, "stat.csv")
	cmd := exec.CommandContext(sctx, env.sipp, "-sf", filepath.Join(root, "testdata", "sipp", "agents.xml"),
		"-inf", users, "-t", "u1", "-i", loopback, "-ci", loopback, "-p", port,
		"-r", fmt.Sprint(rate), "-l", fmt.Sprint(n), "-m", fmt.Sprint(n),
		"-set", "changes", fmt.Sprint(agentChanges),
		"-set", "gap_min", fmt.Sprint(agentGapMin.Milliseconds()), "-set", "gap_max", fmt.Sprint(agentGapMax.Milliseconds()),
		"-default_behaviors", "all,-bye", "-nostdin", "-buff_size", "4194304",
		"-timeout", fmt.Sprintf("%.0fs", limit.Seconds()), "-recv_timeout", "10s",
		"-trace_stat", "-stf", stat, "-fd", "1", "-trace_logs", "-trace_err", acdSrv.sip)
	cmd.Dir, cmd.SysProcAttr = dir, childAttr()
	fmt.Printf("  %d agents, %d changes each every %s-%s, SIPp at %d calls/s\n", n, agentChanges, agentGapMin, agentGapMax, rate)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) { // 1: some calls failed
		return res, fmt.Errorf("sipp agents: %v\n%s", err, out[max(0, len(out)-1500):])
	}
	sippCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	// The last changes are still on their way: every agent ends offline
	// (it unregisters), so wait until watchers saw them all so, or saw
	// nothing change for 2 s (an agent whose call failed may stay online),
	// at most 15 s.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) &&
		w.count("offline") < n && time.Since(w.lastChange()) < 2*time.Second; {
		time.Sleep(100 * time.Millisecond)
	}
	acdMetrics, presMetrics := scrape(acdSrv.metrics), scrape(pres.metrics)
	acdCPU, acdRSS := acdSrv.stop()
	presCPU, presRSS := pres.stop()

	sent, err := readChanges(dir)
	if err != nil {
		return res, err
	}
	var calls record
	if calls, err = lastRecord(stat); err != nil {
		return res, err
	}
	w.mu.Lock()
	seen, notifies, stale := slices.Clone(w.changes), w.notifies, w.stale
	w.mu.Unlock()
	res = measureAgents(sent, seen)
	fmt.Printf("  SIPp: %.0f calls ok, %.0f failed, %.0f retransmissions; %d changes accepted, %.0f/s\n",
		calls.num("SuccessfulCall(C)"), calls.num("FailedCall(C)"), calls.num("Retransmissions(C)"), res.sent, res.sentRate)
	fmt.Printf("  ACD: %.0f agent PUBLISH answered 200, %.0f other; presence: %.0f PUBLISH from the ACD answered 200, %.0f other; %.0f NOTIFY sent, %.0f failed or gone\n",
		acdMetrics.sum(`method="PUBLISH",status="200"`), acdMetrics.sum(`method="PUBLISH",status=`)-acdMetrics.sum(`method="PUBLISH",status="200"`),
		presMetrics.sum(`method="PUBLISH",status="200"`), presMetrics.sum(`method="PUBLISH",status=`)-presMetrics.sum(`method="PUBLISH",status="200"`),
		presMetrics.sum(`result="sent"`), presMetrics.sum(`result="failed"`)+presMetrics.sum(`result="gone"`))
	fmt.Printf("  watchers: %d NOTIFYs (%d out of order), %d away<->available changes, %.0f/s, %.1f%% of those sent; change to NOTIFY p50 %s p99 %s max %s\n",
		notifies, stale, res.seen, res.seenRate, res.ratio(), res.p50.Round(time.Millisecond), res.p99.Round(time.Millisecond), res.worst.Round(time.Millisecond))
	fmt.Printf("  CPU: presence %.1fs (RSS %d MiB), acd %.1fs (RSS %d MiB), sipp %.1fs\n",
		presCPU.Seconds(), presRSS, acdCPU.Seconds(), acdRSS, sippCPU.Seconds())
	return res, nil
}

// writeAgents writes the ACD's configuration file with n agents and one
// group, and SIPp's injection file of their accounts.
func writeAgents(dir string, n int) (cfg, users string, err error) {
	var c, u strings.Builder
	c.WriteString("acd:\n  agents:\n")
	u.WriteString("SEQUENTIAL\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "    - {uri: \"sip:agent%d@example.com\", name: Agent %d, skills: {support: 3}}\n", i, i)
		fmt.Fprintf(&u, "agent%d;x;example.com\n", i)
	}
	c.WriteString("  groups:\n    - {id: support, name: Support, skill: support, min_proficiency: 1}\n")
	cfg, users = filepath.Join(dir, "acd.yaml"), filepath.Join(dir, "agents.csv")
	return cfg, users, errors.Join(os.WriteFile(cfg, []byte(c.String()), 0o644), os.WriteFile(users, []byte(u.String()), 0o644))
}

// change is one agent state change: sent by SIPp (state away or
// available) or seen in a NOTIFY.
type change struct {
	agent, state string
	at           time.Time
}

// readChanges reads the changes agents.xml logged (-trace_logs):
// change;<user>;<n>;<away|open>;<seconds>;<microseconds>.
func readChanges(dir string) ([]change, error) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*_logs.log"))
	if len(logs) != 1 {
		return nil, fmt.Errorf("agents: want one SIPp log file, found %d", len(logs))
	}
	f, err := os.Open(logs[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []change
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ";")
		if len(p) != 6 || p[0] != "change" {
			continue
		}
		sec, err1 := strconv.ParseFloat(p[4], 64)
		usec, err2 := strconv.ParseFloat(p[5], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		state := map[string]string{"away": "away", "open": "available"}[p[3]]
		out = append(out, change{agent: p[1], state: state, at: time.Unix(int64(sec), int64(usec)*1000)})
	}
	return out, sc.Err()
}

// measureAgents compares the changes sent with those seen. A change seen
// (between away and available: registration and unregistration are left
// out) is timed from the latest change to that state sent for the agent.
func measureAgents(sent []change, seen []seenChange) agentResult {
	res := agentResult{sentRate: math.NaN(), seenRate: math.NaN(), p50: -1, p99: -1, worst: -1}
	isSwap := func(s string) bool { return s == "away" || s == "available" }
	bySent := map[string][]change{}
	for _, c := range sent {
		bySent[c.agent] = append(bySent[c.agent], c)
	}
	for _, cs := range bySent {
		slices.SortFunc(cs, func(a, b change) int { return a.at.Compare(b.at) })
	}
	rate := func(cs []change) float64 { // changes per second from the first to the last
		if len(cs) < 2 {
			return math.NaN()
		}
		first, last := cs[0].at, cs[0].at
		for _, c := range cs {
			first, last = minTime(first, c.at), maxTime(last, c.at)
		}
		return float64(len(cs)-1) / last.Sub(first).Seconds()
	}
	var swaps []change
	var delays []time.Duration
	for _, c := range seen {
		if !isSwap(c.state) || !isSwap(c.was) {
			continue
		}
		swaps = append(swaps, c.change)
		var cause *change
		for i, s := range bySent[c.agent] {
			if s.state == c.state && !s.at.After(c.at) {
				cause = &bySent[c.agent][i]
			}
		}
		if cause != nil {
			delays = append(delays, c.at.Sub(cause.at))
		}
	}
	res.sent, res.seen = len(sent), len(swaps)
	res.sentRate, res.seenRate = rate(sent), rate(swaps)
	if len(delays) > 0 {
		slices.Sort(delays)
		res.p50, res.p99, res.worst = delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1]
	}
	return res
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// metrics are a Prometheus text exposition, series by series.
type metrics []string

// sum adds the values of the switchboard_sip_* series whose labels
// contain sel.
func (m metrics) sum(sel string) float64 {
	total := 0.0
	for _, line := range m {
		labels, value, ok := strings.Cut(line, "} ")
		if ok && strings.HasPrefix(line, "switchboard_sip_") && strings.Contains(labels, sel) {
			v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
			total += v
		}
	}
	return total
}

// scrape reads a server's /metrics (nil when it does not answer).
func scrape(addr string) metrics {
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return strings.Split(string(b), "\n")
}

// watcher subscribes to presentities from its own UDP socket (with a TCP
// listener on the same port, for NOTIFYs too large for UDP) and records
// every change of the sb:agent state the NOTIFYs carry.
type watcher struct {
	addr   string
	client *sipgo.Client
	close  func()

	mu       sync.Mutex
	last     map[string]watched // by presentity user part
	notifies int
	stale    int // NOTIFYs older than one already received
	changes  []seenChange
	lastAt   time.Time // of the latest change
}

type watched struct {
	cseq  uint32
	state string
}

// seenChange is a change seen in a NOTIFY, with the state before it.
type seenChange struct {
	change
	was string
}

// agentStateRE finds the state of the ACD's agent element, whatever its
// prefix (docs/acd-pidf.md).
var agentStateRE = regexp.MustCompile(`<(?:[\w.-]+:)?agent\s[^>]*?\bstate="([^"]*)"`)

func newWatcher() (*watcher, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sipmsg.SetDefaultLogger(quiet)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sbbench-watcher"))
	if err != nil {
		return nil, err
	}
	w := &watcher{last: map[string]watched{}}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		ua.Close()
		return nil, err
	}
	srv.OnNotify(w.onNotify)
	udp, err := net.ListenPacket("udp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		ua.Close()
		return nil, err
	}
	udp.(*net.UDPConn).SetReadBuffer(8 << 20) // room for a burst of NOTIFYs
	w.addr = udp.LocalAddr().String()
	tcp, err := net.Listen("tcp", w.addr)
	if err != nil {
		udp.Close()
		ua.Close()
		return nil, err
	}
	w.close = func() { udp.Close(); tcp.Close(); ua.Close() }
	go srv.ServeUDP(udp)
	go srv.ServeTCP(tcp)
	// sipgo adds the socket to its pool once serving; a client bound to
	// the address before that would try to bind it again.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := ua.TransportLayer().GetConnection("udp", w.addr); err == nil && c != nil {
			break
		}
		if time.Now().After(deadline) {
			w.close()
			return nil, errors.New("watcher: sipgo did not start serving UDP")
		}
	}
	if w.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(w.addr), sipgo.WithClientLogger(quiet)); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *watcher) onNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	at := time.Now()
	tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
	state := ""
	if m := agentStateRE.FindSubmatch(req.Body()); m != nil {
		state = string(m[1])
	}
	user, cseq := req.From().Address.User, req.CSeq().SeqNo
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notifies++
	prev, ok := w.last[user]
	if ok && cseq <= prev.cseq {
		w.stale++
		return
	}
	if ok && state != prev.state {
		w.changes = append(w.changes, seenChange{change{agent: user, state: state, at: at}, prev.state})
		w.lastAt = at
	}
	w.last[user] = watched{cseq: cseq, state: state}
}

// lastChange is when the latest change was seen (zero before any).
func (w *watcher) lastChange() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastAt
}

// count returns how many presentities are in state ("" counts those
// whose documents lack it), or all that had a NOTIFY when state is "*".
func (w *watcher) count(state string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.last {
		if state == "*" || l.state == state {
			n++
		}
	}
	return n
}

// subscribe subscribes to sip:<user>@example.com for every user at the
// server (host:port, UDP), 32 at a time, and waits until each has had its
// first NOTIFY (at most 15 s).
func (w *watcher) subscribe(ctx context.Context, server string, users []string) error {
	host, port, _ := sipmsg.ParseAddr(w.addr)
	jobs, errs := make(chan string), make(chan error, len(users))
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for user := range jobs {
				ruri := sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}
				req := sipmsg.NewRequest(sipmsg.SUBSCRIBE, ruri)
				from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "watcher", Host: "example.com"}}
				from.Params.Add("tag", sipmsg.GenerateTagN(8))
				req.AppendHeader(from)
				req.AppendHeader(&sipmsg.ToHeader{Address: ruri})
				req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "watcher", Host: host, Port: port}})
				req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
				req.AppendHeader(sipmsg.NewHeader("Accept", "application/pidf+xml"))
				req.AppendHeader(sipmsg.NewHeader("Expires", "600"))
				req.SetDestination(server)
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				res, err := w.client.Do(rctx, req)
				cancel()
				if err == nil && res.StatusCode/100 != 2 {
					err = fmt.Errorf("%d %s", res.StatusCode, res.Reason)
				}
				if err != nil {
					errs <- fmt.Errorf("watcher: SUBSCRIBE %s: %w", user, err)
				}
			}
		})
	}
	for _, u := range users {
		jobs <- u
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if w.count("*") >= len(users) {
			return nil
		}
	}
	return fmt.Errorf("watcher: %d of %d subscriptions had no NOTIFY after 15 s", w.count("*"), len(users))
}
