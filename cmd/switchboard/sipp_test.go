package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippCalls is how many calls each scenario makes, at this many per second.
const sippCalls = 20

// TestSIPp runs the integrator scenarios of testdata/sipp against a
// started switchboard, with digest auth on (MD5, which is all SIPp can
// compute) and off: each SIPp run must end every call successfully.
func TestSIPp(t *testing.T) {
	sipp := lookSIPp(t)
	runs := []struct{ scenario, transport string }{
		{"publish.xml", "u1"},
		{"publish.xml", "t1"},
		{"unpublish.xml", "u1"},
		{"subscribe.xml", "u1"},
		{"subscribe.xml", "t1"},
	}
	for _, auth := range []struct {
		name string
		set  string
	}{
		{"auth=md5", "sip.auth.enabled=true"}, // the default: MD5
		{"auth=off", "sip.auth.enabled=false"},
	} {
		t.Run(auth.name, func(t *testing.T) {
			p := startSwitchboard(t, t.TempDir(), auth.set)
			for _, r := range runs {
				t.Run(strings.TrimSuffix(r.scenario, ".xml")+"/"+r.transport, func(t *testing.T) {
					addr := p.UDP
					if r.transport == "t1" {
						addr = p.TCP
					}
					runSIPp(t, sipp, p, r.scenario, r.transport, addr)
				})
			}
		})
	}
}

// lookSIPp finds sipp on PATH. Without it the test is skipped, except in
// CI (CI set), where `make test` installs it and its absence is a failure.
func lookSIPp(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sipp")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("sipp not found on PATH (CI is set; `make deps` installs sip-tester): %v", err)
	}
	t.Skipf("sipp not found on PATH: %v", err)
	return ""
}

// runSIPp runs one scenario for sippCalls calls against addr over
// transport (SIPp's u1 or t1) and checks that all of them succeeded.
func runSIPp(t *testing.T, sipp string, p *proc, scenario, transport, addr string) {
	t.Helper()
	r := execSIPp(t, sipp, scenario, sippFile(t, "users.csv"), transport, addr, sippCalls, sippCalls)
	if r.err == nil && r.ok == sippCalls && r.failed == 0 {
		return
	}
	r.report(t, sippCalls)
	t.Logf("switchboard log (tail):\n%s", p.logs())
}

// sippRun is the outcome of one SIPp run.
type sippRun struct {
	scenario, transport string
	ok, failed          int    // successful and failed calls
	err                 error  // SIPp's exit status, or its statistics unread
	out                 []byte // what SIPp printed
	dir                 string // its working directory, with its error log
}

// sippFile is the absolute path of name in testdata/sipp.
func sippFile(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// execSIPp runs scenario (in testdata/sipp) with the injection file inf
// for calls calls, rate per second, against addr over transport (SIPp's
// u1 or t1), and reads its statistics.
func execSIPp(t *testing.T, sipp, scenario, inf, transport, addr string, calls, rate int) sippRun {
	t.Helper()
	r := sippRun{scenario: scenario, transport: transport, dir: t.TempDir()} // SIPp writes its trace files in its working directory
	stat := filepath.Join(r.dir, "stat.csv")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp,
		"-sf", sippFile(t, scenario),
		"-inf", inf,
		"-au", "[field0]", "-ap", "[field1]",
		"-t", transport, "-i", "127.0.0.1", "-ci", "127.0.0.1",
		"-m", strconv.Itoa(calls), "-r", strconv.Itoa(rate),
		"-default_behaviors", "all,-bye",
		"-timeout", "30s", "-timeout_error", "-recv_timeout", "10s",
		"-nostdin", "-trace_stat", "-stf", stat, "-trace_err", "-trace_screen",
		addr)
	cmd.Dir = r.dir
	r.out, r.err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if r.err != nil && !errors.As(r.err, &exit) {
		t.Fatalf("run sipp: %v", r.err)
	}
	var statErr error
	if r.ok, r.failed, statErr = sippResult(stat); statErr != nil {
		r.err = errors.Join(r.err, statErr)
	}
	return r
}

// report fails the test with r's counts, SIPp's output and its errors.
func (r sippRun) report(t *testing.T, calls int) {
	t.Helper()
	t.Errorf("sipp %s over %s: %v; successful calls %d, failed %d (want %d, 0)",
		r.scenario, r.transport, r.err, r.ok, r.failed, calls)
	t.Logf("sipp output (tail):\n%s", sippTail(string(r.out), 2000))
	if logs, _ := filepath.Glob(filepath.Join(r.dir, "*_errors.log")); len(logs) > 0 {
		b, _ := os.ReadFile(logs[0])
		t.Logf("sipp errors (head):\n%s", sippHead(string(b), 4000))
	}
}

// sippResult reads the cumulative successful and failed call counts from
// the last line of a SIPp statistics file (-trace_stat -stf).
func sippResult(path string) (ok, failed int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return 0, 0, err
	}
	if len(rows) < 2 {
		return 0, 0, fmt.Errorf("%s: no statistics line", path)
	}
	col := func(name string) (int, error) {
		for i, h := range rows[0] {
			if h == name && i < len(rows[len(rows)-1]) {
				return strconv.Atoi(strings.TrimSpace(rows[len(rows)-1][i]))
			}
		}
		return 0, fmt.Errorf("%s: no column %s", path, name)
	}
	if ok, err = col("SuccessfulCall(C)"); err != nil {
		return 0, 0, err
	}
	failed, err = col("FailedCall(C)")
	return ok, failed, err
}

func sippHead(s string, n int) string {
	if len(s) > n {
		return s[:n] + "\n..."
	}
	return s
}

func sippTail(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}
