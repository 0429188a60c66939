package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stepEnv is what every step needs: binaries, injection file, scenario,
// and the server each step starts afresh (Switchboard unless kamailio is
// set: the path of Kamailio, run beside it).
type stepEnv struct{ bin, sipp, users, tmp, scenario, kamailio string }

// start starts the server under test in dir.
func (env stepEnv) start(ctx context.Context, dir string) (*server, error) {
	if env.kamailio != "" {
		return startKamailio(ctx, env.kamailio, dir)
	}
	return startServer(ctx, env.bin, dir)
}

// runner runs the steps of a ramp with runStep.
func (env stepEnv) runner(ctx context.Context) func(float64, time.Duration) (step, error) {
	return func(rate float64, dur time.Duration) (step, error) { return runStep(ctx, env, rate, dur) }
}

// step is the outcome of one rate step.
type step struct {
	rate, achieved     float64 // requested and achieved calls/s
	calls, ok, failed  int
	refused            int // calls the server ended with 503 (the overload scenarios)
	retrans            int // retransmissions SIPp sent or received
	callLen, elapsed   time.Duration
	p50, p99           time.Duration // of call lengths: the upper bound of their repartition bucket
	serverCPU, sippCPU time.Duration
	serverRSS          int64 // peak, MiB
}

// delivered is the rate of calls the server served, not refused: SIPp's
// rate of calls times the share served.
func (s step) delivered() float64 {
	return s.achieved * float64(s.ok-s.refused) / float64(max(s.calls, 1))
}

// pass applies the criteria: every call ended, under 0.1% failed, no
// retransmission, and SIPp generated at least 95% of the requested rate.
func (s step) pass() bool {
	return s.ok+s.failed == s.calls && float64(s.failed) < 0.001*float64(s.calls) &&
		s.retrans == 0 && s.achieved >= 0.95*s.rate
}

func (s step) String() string {
	verdict := map[bool]string{true: "pass", false: "FAIL"}[s.pass()]
	refused := ""
	if s.refused > 0 {
		refused = fmt.Sprintf(" (%d refused, 503)", s.refused)
	}
	return fmt.Sprintf("%6.0f/s: achieved %6.0f/s, %d ok%s, %d failed, %d retrans, mean call %.0f ms, p50 %s p99 %s, "+
		"CPU server %.1fs sipp %.1fs in %.1fs, server RSS %d MiB: %s",
		s.rate, s.achieved, s.ok, refused, s.failed, s.retrans, s.callLen.Seconds()*1e3, bound(s.p50), bound(s.p99),
		s.serverCPU.Seconds(), s.sippCPU.Seconds(), s.elapsed.Seconds(), s.serverRSS, verdict)
}

// bound prints a percentile read off a repartition: "< 20 ms", or ">= 1000 ms".
func bound(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf(">= %d ms", -d.Milliseconds())
	}
	return fmt.Sprintf("< %d ms", d.Milliseconds())
}

// runStep starts a server, runs SIPp at rate for dur against it over UDP,
// and stops both.
func runStep(ctx context.Context, env stepEnv, rate float64, dur time.Duration) (step, error) {
	dir, err := os.MkdirTemp(env.tmp, "step-")
	if err != nil {
		return step{rate: rate}, err
	}
	defer os.RemoveAll(dir) // the store of a fast step is large
	srv, err := env.start(ctx, dir)
	if err != nil {
		return step{rate: rate}, err
	}
	defer srv.stop()
	s, _, err := runSIPp(ctx, env, dir, env.users, srv.sip, rate, dur)
	s.serverCPU, s.serverRSS = srv.stop()
	return s, err
}

// runSIPp runs SIPp in dir with the injection file users against addr, at
// rate for dur over UDP, and reads its figures; the record is its last
// line of statistics.
func runSIPp(ctx context.Context, env stepEnv, dir, users, addr string, rate float64, dur time.Duration) (step, record, error) {
	s := step{rate: rate, calls: int(rate * dur.Seconds())}
	limit := dur + 30*time.Second // SIPp's own timeout; the context is the backstop
	sctx, cancel := context.WithTimeout(ctx, limit+15*time.Second)
	defer cancel()
	stat := filepath.Join(dir, "stat.csv")
	cmd := exec.CommandContext(sctx, env.sipp, "-sf", env.scenario, "-inf", users,
		"-t", "u1", "-i", loopback, "-ci", loopback, "-r", fmt.Sprint(rate), "-m", fmt.Sprint(s.calls),
		"-default_behaviors", "all,-bye", "-nostdin", "-buff_size", "4194304",
		"-timeout", fmt.Sprintf("%.0fs", limit.Seconds()), "-recv_timeout", "5s",
		"-trace_stat", "-stf", stat, "-fd", "1", "-trace_counts", "-trace_err", addr)
	cmd.Dir, cmd.SysProcAttr = dir, childAttr() // SIPp writes its traces in its working directory
	start := time.Now()
	out, err := cmd.CombinedOutput()
	s.elapsed = time.Since(start)
	if ctx.Err() != nil {
		return s, nil, ctx.Err()
	}
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) { // 1: some calls failed
		return s, nil, fmt.Errorf("sipp at %.0f/s: %v\n%s", rate, err, out[max(0, len(out)-1500):])
	}
	s.sippCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	last, err := lastRecord(stat)
	if err != nil {
		return s, nil, err
	}
	s.ok, s.failed = int(last.num("SuccessfulCall(C)")), int(last.num("FailedCall(C)"))
	s.achieved, s.retrans = last.num("CallRate(C)"), int(last.num("Retransmissions(C)"))
	var h, m, sec, us int // HH:MM:SS:uuuuuu
	fmt.Sscanf(last["CallLength(C)"], "%d:%d:%d:%d", &h, &m, &sec, &us)
	s.callLen = time.Duration(((h*60+m)*60+sec)*1e6+us) * time.Microsecond
	s.p50, s.p99 = percentile(last, 0.50), percentile(last, 0.99)
	// The counts file has a *_Retrans column per message, sent or
	// received, and a *_Recv one per message received.
	if counts, _ := filepath.Glob(filepath.Join(dir, "*_counts.csv")); len(counts) == 1 {
		if c, err := lastRecord(counts[0]); err == nil {
			s.retrans = 0
			for k := range c {
				switch {
				case strings.HasSuffix(k, "_Retrans"):
					s.retrans += int(c.num(k))
				case strings.HasSuffix(k, "_503_Recv"):
					s.refused += int(c.num(k))
				}
			}
		}
	}
	return s, last, nil
}

// percentile reads the q-quantile of call lengths off SIPp's repartition
// columns (CallLengthRepartition_<20 ...): the upper bound of the bucket
// it falls in, negative for the open last bucket (>= its bound).
func percentile(r record, q float64) time.Duration {
	type bucket struct {
		bound int
		n     float64
	}
	var bs []bucket
	var open bucket
	total := 0.0
	for k := range r {
		rest, ok := strings.CutPrefix(k, "CallLengthRepartition_")
		if !ok {
			continue
		}
		n := r.num(k)
		total += n
		if b, ok := strings.CutPrefix(rest, "<"); ok {
			v, _ := strconv.Atoi(b)
			bs = append(bs, bucket{v, n})
		} else if b, ok := strings.CutPrefix(rest, ">="); ok {
			v, _ := strconv.Atoi(b)
			open = bucket{v, n}
		}
	}
	slices.SortFunc(bs, func(a, b bucket) int { return a.bound - b.bound })
	seen := 0.0
	for _, b := range bs {
		if seen += b.n; total > 0 && seen >= q*total {
			return time.Duration(b.bound) * time.Millisecond
		}
	}
	return -time.Duration(open.bound) * time.Millisecond
}

// record is one line of a SIPp CSV file, by column name.
type record map[string]string

func (r record) num(k string) float64 {
	v, _ := strconv.ParseFloat(strings.TrimSpace(r[k]), 64)
	return v
}

// lastRecord reads the header and the last line of a ';'-separated SIPp file.
func lastRecord(path string) (record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = ';', -1, true
	rows, err := cr.ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("%s: no statistics (%v)", path, err)
	}
	r, last := record{}, rows[len(rows)-1]
	for i, h := range rows[0][:min(len(rows[0]), len(last))] {
		r[h] = last[i]
	}
	return r, nil
}

// writeUsers writes a SIPp injection file of the users u<from+1> to
// u<to> of n (u00001...): the user (field0), a password (field1, unused
// with auth off), the domain (field2) and the next user, to watch
// (field3).
func writeUsers(path string, from, to, n int) error {
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "u%05d;x;example.com;u%05d\n", i+1, (i+1)%n+1)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
