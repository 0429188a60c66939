package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// switchboardCmd runs the binary with args and returns its exit code and
// output, failing the test past the deadline.
func switchboardCmd(t *testing.T, deadline time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("switchboard %v still running after %s:\n%s", args, deadline, out.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// A second switchboard on a store another one holds exits at once, saying
// which file, that another switchboard probably runs, and its pid.
func TestStore_SecondInstanceIsRefusedPromptly(t *testing.T) {
	dir := t.TempDir()
	first := startSwitchboard(t, dir)
	start := time.Now()
	code, out := switchboardCmd(t, 20*time.Second, "serve", "--set", "store.path="+first.DB,
		"--set", "sip.udp=127.0.0.1:0", "--set", "sip.tcp=127.0.0.1:0", "--set", "sip.ws=127.0.0.1:0",
		"--set", "http.addr=127.0.0.1:0", "--set", "metrics.addr=127.0.0.1:0")
	took := time.Since(start)
	pid := "pid " + strconv.Itoa(first.cmd.Process.Pid)
	if code != 1 || !strings.Contains(out, first.DB) || !strings.Contains(out, "another switchboard is probably running") ||
		!strings.Contains(out, pid) {
		t.Fatalf("second instance: exit %d, want 1 with the file, the message and %s:\n%s", code, pid, out)
	}
	if took > 4*time.Second {
		t.Fatalf("the second instance took %s to give up", took)
	}
	t.Logf("refused in %s: %s", took.Round(time.Millisecond), strings.TrimSpace(out))

	// The first one swept its store at start (store.retention).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(first.logs(), `"msg":"retention sweep"`); {
		if time.Now().After(deadline) {
			t.Fatalf("no retention sweep logged:\n%s", first.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A backup taken from a running server under a PUBLISH load holds every
// publication acknowledged before it began; restored once the server
// stopped (restore refuses while it runs), the server starts on it with
// them all.
func TestStore_BackupRestoreRoundTripUnderLoad(t *testing.T) {
	dir := t.TempDir()
	sets := []string{"sip.auth.enabled=false"}
	p := startSwitchboard(t, dir, sets...)
	backup := filepath.Join(t.TempDir(), "backup.db")

	const workers, perWorker = 4, 300
	var mu sync.Mutex
	acked := map[string]string{} // user -> etag
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			pub := siptest.NewPeer(t)
			for i := range perWorker {
				user := fmt.Sprintf("load-%d-%d", w, i)
				res := publish(pub, p.UDP, user, "")
				if res == nil || res.StatusCode != 200 {
					continue
				}
				mu.Lock()
				acked[user] = res.GetHeader("SIP-ETag").Value()
				if len(acked) >= 200 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("load did not get going")
	}
	mu.Lock()
	before := maps.Clone(acked)
	mu.Unlock()
	code, out := switchboardCmd(t, 60*time.Second, "backup", "--set", "store.path="+p.DB, backup)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	if code != 0 || !strings.Contains(out, "backup of http://127.0.0.1:") {
		t.Fatalf("backup: exit %d:\n%s", code, out)
	}
	t.Logf("%s(%d publications acknowledged before it began, %d while it ran)", out, len(before), during)
	info, err := store.Verify(backup)
	if err != nil || info.Keys["publications"] < len(before) {
		t.Fatalf("the backup: %+v, %v", info, err)
	}

	code, out = switchboardCmd(t, 20*time.Second, "restore", "--set", "store.path="+p.DB, backup)
	if code != 1 || !strings.Contains(out, "held by another process") || !strings.Contains(out, p.DB) {
		t.Fatalf("restore while the server runs: exit %d:\n%s", code, out)
	}
	wg.Wait()
	p.stop()
	code, out = switchboardCmd(t, 20*time.Second, "restore", "--set", "store.path="+p.DB, backup)
	if code != 0 {
		t.Fatalf("restore: exit %d:\n%s", code, out)
	}

	p = startSwitchboard(t, dir, sets...)
	pub := siptest.NewPeer(t)
	lost := 0
	for user, etag := range before {
		if res := publish(pub, p.UDP, user, etag); res == nil || res.StatusCode != 200 {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d publications acknowledged before the backup missing after the restore", lost, len(before))
	}
}

// With no server running, backup copies the file itself, compact
// shrinks it and says by how much, and restore puts the backup back.
func TestStore_CommandsWithoutAServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "switchboard.db")
	db, err := store.Open(store.Config{Path: path, BatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 4000)
	var wg sync.WaitGroup
	for i := range 600 {
		wg.Go(func() {
			db.PutPublication(ctx, presence.Publication{Presentity: fmt.Sprintf("sip:u%d@example.com", i), ETag: "e", Body: body}, "")
		})
	}
	wg.Wait()
	db.Close()
	set := "store.path=" + path
	backup := filepath.Join(dir, "b.db")
	if code, out, errOut := runCLI("backup", "--set", set, backup); code != 0 || !strings.Contains(out, "publications 600") {
		t.Fatalf("backup: exit %d, %q %q", code, out, errOut)
	}
	db, err = store.Open(store.Config{Path: path, BatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 590 {
		wg.Go(func() { db.DeletePublication(ctx, fmt.Sprintf("sip:u%d@example.com", i), "e") })
	}
	wg.Wait()
	db.Close()
	code, out, errOut := runCLI("compact", "--set", set)
	if code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: exit %d, %q %q", code, out, errOut)
	}
	t.Log(strings.TrimSpace(out))
	if code, out, errOut := runCLI("restore", "--set", set, backup); code != 0 || !strings.Contains(out, "publications 600") {
		t.Fatalf("restore: exit %d, %q %q", code, out, errOut)
	}
	if info, err := store.Verify(path); err != nil || info.Keys["publications"] != 600 {
		t.Fatalf("after restore: %+v, %v", info, err)
	}
	if code, _, errOut := runCLI("restore", "--set", set, filepath.Join(dir, "missing.db")); code != 1 || !strings.Contains(errOut, "missing.db") {
		t.Fatalf("restore of a missing file: exit %d, %q", code, errOut)
	}
}
