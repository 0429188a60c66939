package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/internal/natstest"
)

// Failover load: calls (one PUBLISH each, a presentity of its own) at
// this rate, and the server leading the publications stream killed once
// it holds failoverKillAt of them.
const (
	failoverCalls  = 6000
	failoverRate   = 300
	failoverKillAt = 600
)

// Three NATS servers, a switchboard with store.nats.replicas=3 and a SIPp
// PUBLISH load; the server leading the publications stream is killed
// (SIGKILL) mid-run. Every PUBLISH answered 200 must be in the bucket
// afterwards, once the killed server is back; PUBLISHes refused (500,
// 503) or left unanswered during the failover are counted, not failures.
func TestClusterNATS_NoAckedPublishLostWhenTheStreamLeaderIsKilled(t *testing.T) {
	sipp := lookSIPp(t)
	c := natstest.RunCluster(t, 3)
	p := startSwitchboard(t, t.TempDir(), "roles=presence", "sip.auth.enabled=false",
		"store.driver=nats", "store.nats.urls="+c.URLs(), "store.nats.node=a", "store.nats.replicas=3",
		"store.nats.write_timeout=2s") // shorter than the stream's election: some writes run out of it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	js := c.JetStream(t)
	stream, err := js.Stream(ctx, "KV_switchboard_publications")
	if err != nil {
		t.Fatal(err)
	}
	leader := c.StreamLeader(t, ctx, js, "KV_switchboard_publications")

	dir := t.TempDir() // SIPp writes its logs in its working directory
	scenario, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sipp", "failover_publish.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, sipp, "-sf", scenario, "-key", "domain", "example.com",
		"-t", "u1", "-i", "127.0.0.1", "-ci", "127.0.0.1",
		"-m", strconv.Itoa(failoverCalls), "-r", strconv.Itoa(failoverRate),
		"-default_behaviors", "all,-bye", "-timeout", "90s", "-nostdin", "-trace_logs", p.UDP)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sippDone := make(chan error, 1)
	go func() { sippDone <- cmd.Wait() }()

	killedAt := waitStreamMsgs(t, ctx, stream, failoverKillAt, sippDone)
	leader.Kill()
	killed := time.Now()
	t.Logf("killed %s, the publications stream's leader, at %d publications", leader.Name, killedAt)
	if err := <-sippDone; err != nil {
		t.Logf("sipp: %v (calls without an answer fail)", err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	acked, refused, err := readFailoverLog(dir)
	if err != nil {
		t.Fatalf("%v\nsipp output:\n%s", err, sippTail(out.String(), 2000))
	}
	kv, err := js.KeyValue(ctx, "switchboard_publications")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[string]bool, len(keys))
	for _, k := range keys {
		stored[k] = true
	}
	lost := 0
	for call, a := range acked {
		if !stored[publicationKey(fmt.Sprintf("sip:f%d@example.com", call), a.etag)] {
			lost++
		}
	}
	var longest, gap, longestRefusal time.Duration
	var last time.Time
	for _, a := range sortedByAnswer(acked) {
		longest = max(longest, a.answered.Sub(a.sent))
		if !last.IsZero() && a.answered.After(killed) {
			gap = max(gap, a.answered.Sub(last))
		}
		last = a.answered
	}
	codes := map[string]int{}
	for _, r := range refused {
		codes[r.code]++
		longestRefusal = max(longestRefusal, r.answered.Sub(r.sent))
	}
	t.Logf("%d PUBLISHes: %d acknowledged (200), %d refused (%v), %d unanswered; %d acknowledged lost; "+
		"longest PUBLISH to its 200 %s, to its refusal %s; longest gap between 200s after the kill %s",
		failoverCalls, len(acked), len(refused), codes, failoverCalls-len(acked)-len(refused), lost,
		longest.Round(time.Millisecond), longestRefusal.Round(time.Millisecond), gap.Round(time.Millisecond))
	if lost > 0 {
		t.Errorf("%d acknowledged publications are not in the bucket", lost)
	}
	if len(acked) <= int(killedAt) {
		t.Errorf("%d PUBLISHes acknowledged, %d before the kill: none after the failover", len(acked), killedAt)
	}
	if n := scrapeMetrics(t, p)["switchboard_cluster_write_timeouts_total"]; n == 0 || codes["500"] == 0 {
		t.Errorf("%v writes timed out, %d PUBLISHes answered 500: want both above 0 with a 2 s write timeout", n, codes["500"])
	}
}

// waitStreamMsgs waits until stream holds at least n messages, and
// returns how many it holds; it fails the test when SIPp ends first or
// ctx does.
func waitStreamMsgs(t *testing.T, ctx context.Context, stream jetstream.Stream, n uint64, sippDone <-chan error) uint64 {
	t.Helper()
	for {
		info, err := stream.Info(ctx)
		if err == nil && info.State.Msgs >= n {
			return info.State.Msgs
		}
		select {
		case err := <-sippDone:
			t.Fatalf("sipp ended before the stream held %d publications: %v", n, err)
		case <-ctx.Done():
			t.Fatalf("the stream never held %d publications: %v", n, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// publicationKey is store/natsstore's key of a publication.
func publicationKey(presentity, etag string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(presentity)) + "." + enc([]byte(etag))
}

// answer is a PUBLISH of failover_publish.xml and its final answer:
// acknowledged (code 200, etag) or refused.
type answer struct {
	code, etag     string
	sent, answered time.Time
}

// readFailoverLog reads SIPp's log of failover_publish.xml: the
// acknowledged calls by call number, and the refused ones.
func readFailoverLog(dir string) (acked map[int]answer, refused []answer, err error) {
	logs, _ := filepath.Glob(filepath.Join(dir, "failover_publish_*_logs.log"))
	if len(logs) != 1 {
		return nil, nil, fmt.Errorf("want one SIPp log in %s, found %v", dir, logs)
	}
	f, err := os.Open(logs[0])
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	acked = map[int]answer{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(strings.TrimSpace(sc.Text()), ";")
		if len(fs) != 7 {
			continue
		}
		call, err := strconv.Atoi(fs[1])
		if err != nil {
			return nil, nil, fmt.Errorf("SIPp log line %q: %v", sc.Text(), err)
		}
		a := answer{sent: unixTime(fs[3], fs[4]), answered: unixTime(fs[5], fs[6])}
		switch fs[0] {
		case "acked":
			a.code, a.etag = "200", fs[2]
			acked[call] = a
		case "refused":
			a.code = fs[2]
			refused = append(refused, a)
		}
	}
	return acked, refused, sc.Err()
}

// unixTime reads SIPp's gettimeofday pair, printed as decimals.
func unixTime(s, us string) time.Time {
	sec, _ := strconv.ParseFloat(s, 64)
	usec, _ := strconv.ParseFloat(us, 64)
	return time.Unix(int64(sec), int64(usec)*1000)
}

// sortedByAnswer lists the answers in the order they came.
func sortedByAnswer(acked map[int]answer) []answer {
	as := make([]answer, 0, len(acked))
	for _, a := range acked {
		as = append(as, a)
	}
	slices.SortFunc(as, func(a, b answer) int { return a.answered.Compare(b.answered) })
	return as
}
