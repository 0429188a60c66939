package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Under systemd (deploy/systemd, Type=notify with WatchdogSec), switchboard
// says READY=1 once it listens, pets the watchdog at half its interval, and
// says STOPPING=1 when SIGTERM begins the drain. The test is the unit's
// notify socket.
func TestSystemd_ReadyWatchdogStopping(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "400000") // petted every 200 ms
	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	next := func(what string, match func(string) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case m := <-got:
				if match(m) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s on the notify socket", what)
			}
		}
	}
	p := startSwitchboard(t, t.TempDir(), "shutdown.grace=0s")
	next("READY=1 with a status", func(m string) bool {
		return strings.HasPrefix(m, "READY=1\nSTATUS=serving presence, acd, web")
	})
	for range 2 {
		next("WATCHDOG=1", func(m string) bool { return m == "WATCHDOG=1" })
	}
	p.stop()
	next("STOPPING=1", func(m string) bool { return m == "STOPPING=1" })
}

// The unit file parses, as systemd reads it (systemd-analyze verify, where
// systemd is installed: a warning fails the test too).
func TestSystemd_UnitFileVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is missing")
	}
	unit, err := filepath.Abs(filepath.Join("..", "..", "deploy", "systemd", "switchboard.service"))
	if err != nil {
		t.Fatal(err)
	}
	// The unit runs /usr/local/bin/switchboard: verify checks that it is an
	// executable, so a copy points at the binary the tests built.
	text, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "switchboard.service")
	if err := os.WriteFile(copyPath, bytes.ReplaceAll(text, []byte("/usr/local/bin/switchboard"), []byte(binary)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
