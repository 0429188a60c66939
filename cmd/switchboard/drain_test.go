package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/calltest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// exit waits for the process to end after a signal and checks it exited 0.
func (p *proc) exit(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("switchboard did not exit:\n%s", p.logs())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("switchboard exited with %d:\n%s", code, p.logs())
	}
}

// httpStatus is the status of GET path, 0 when the server does not answer.
func httpStatus(p *proc, path string) int {
	res, err := http.Get("http://" + p.HTTP + path)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// On SIGTERM /readyz turns 503 at once while everything else still
// serves for shutdown.grace: /healthz, and SIP.
func TestDrain_ReadyzTurns503WhileStillServing(t *testing.T) {
	p := startSwitchboard(t, t.TempDir(), "shutdown.grace=3s")
	p.cmd.Process.Signal(syscall.SIGTERM)
	siptest.WaitFor(t, "/readyz 503", func() bool { return httpStatus(p, "/readyz") == http.StatusServiceUnavailable })
	if code := httpStatus(p, "/healthz"); code != 200 {
		t.Errorf("/healthz during the grace: %d", code)
	}
	peer := siptest.NewPeer(t)
	if res := peer.Do(peer.Request("OPTIONS", "sip:example.com", "bob", p.UDP, "")); res.StatusCode != 200 {
		t.Errorf("OPTIONS during the grace: %d", res.StatusCode)
	}
	p.exit(t)
}

// Every PUBLISH stored before the stop got its 200: PUBLISHes flow from
// four peers when SIGTERM comes, and after a restart the server holds
// exactly as many publications as 200s were received.
func TestDrain_EveryStoredPublishIsAnswered(t *testing.T) {
	dir := t.TempDir()
	sets := []string{"roles=presence", "sip.auth.enabled=false"}
	p := startSwitchboard(t, dir, append(sets, "shutdown.grace=0s")...)
	var answered atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		peer := siptest.NewPeer(t)
		wg.Go(func() {
			for i := range 1000 {
				uri := fmt.Sprintf("sip:w%d-%d@example.com", w, i)
				req := peer.Request("PUBLISH", uri, "x", p.UDP, siptest.PIDF(uri, "t", "open", ""),
					"Event: presence", "Content-Type: application/pidf+xml", "Expires: 3600")
				res, err := peer.TryDo(req)
				if err != nil || res.StatusCode != 200 {
					return // 503 while draining, or no answer once closed
				}
				answered.Add(1)
			}
		})
	}
	siptest.WaitFor(t, "PUBLISHes flowing", func() bool { return answered.Load() >= 200 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.exit(t)
	wg.Wait()
	if !strings.Contains(p.logs(), `"drained"`) {
		t.Errorf("no drain in the log:\n%s", p.logs())
	}
	q := startSwitchboard(t, dir, sets...)
	if stored := scrapeMetrics(t, q)["switchboard_presence_publications"]; stored != float64(answered.Load()) {
		t.Errorf("%v publications stored, %d answered 200", stored, answered.Load())
	}
}

// A call bridged when SIGTERM comes goes on (media both ways) until the
// agent hangs up; only then does the process exit.
func TestDrain_LiveCallOutlivesTheFirstSIGTERM(t *testing.T) {
	p := startCallServer(t, "shutdown.grace=0s", "shutdown.calls_timeout=30s")
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)
	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	waitCall(t, p, id, "talking", "")
	ac := calltest.Next(t, alice.Answered(), "alice's call")

	p.cmd.Process.Signal(syscall.SIGTERM)
	siptest.WaitFor(t, "the drain to start", func() bool { return strings.Contains(p.logs(), `"draining"`) })
	from := alice.RTPReceived()
	calltest.Eventually(t, "the visitor's audio after SIGTERM", func() bool { return alice.RTPReceived() >= from+50 })
	select {
	case <-p.exited:
		t.Fatalf("switchboard exited under a live call:\n%s", p.logs())
	default:
	}
	if err := ac.Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	p.exit(t)
}
