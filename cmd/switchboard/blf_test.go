package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/calltest"
)

// TestSIPp_BLFSeesABridgedCall: SIPp as a busy-lamp-field key SUBSCRIBEs
// with Event: dialog to alice, an agent (testdata/sipp/dialog_watch.xml).
// While a visitor's call is bridged to her it sees <state>confirmed</state>,
// after the hang-up <state>terminated</state>, then unsubscribes; each
// NOTIFY carries application/dialog-info+xml.
func TestSIPp_BLFSeesABridgedCall(t *testing.T) {
	sipp := lookSIPp(t)
	p := startCallServer(t, "acd.min_publish_gap=50ms")
	alice := agent(t, p, "alice", calltest.Behaviour{Action: calltest.Answer}, false)

	sippDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sipp"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, "-sf", filepath.Join(sippDir, "dialog_watch.xml"),
		"-s", "alice", "-key", "domain", "example.com", "-key", "watcher", "bob", "-au", "bob", "-ap", "bob-secret",
		"-t", "u1", "-i", "127.0.0.1", "-m", "1", "-timeout", "50s", "-timeout_error", "-recv_timeout", "40s",
		"-nostdin", "-trace_logs", "-trace_err", p.UDP)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitMetric(t, p, `switchboard_presence_subscriptions`, equals(1))

	b := calltest.NewTestBrowser(t, calltest.BrowserOptions{})
	id := call(t, p, b, "billing")
	waitCall(t, p, id, "talking", "")
	calltest.Eventually(t, "SIPp seeing the dialog confirmed", func() bool {
		logs, _ := filepath.Glob(filepath.Join(dir, "*_logs.log"))
		for _, l := range logs {
			if b, _ := os.ReadFile(l); bytes.Contains(b, []byte("seen confirmed")) {
				return true
			}
		}
		return false
	})
	if err := calltest.Next(t, alice.Answered(), "alice's call").Hangup(calltest.Context(t)); err != nil {
		t.Fatal(err)
	}
	waitCall(t, p, id, "ended", "agent-hangup")

	select {
	case err := <-done:
		if err != nil {
			logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
			var errs []byte
			if len(logs) > 0 {
				errs, _ = os.ReadFile(logs[0])
			}
			t.Fatalf("sipp: %v\n%s\n%s\nswitchboard log:\n%s", err, sippTail(out.String(), 2000), sippHead(string(errs), 4000), p.logs())
		}
	case <-ctx.Done():
		t.Fatalf("sipp did not finish:\n%s", sippTail(out.String(), 2000))
	}
	waitMetric(t, p, `switchboard_presence_subscriptions`, equals(0))
}
