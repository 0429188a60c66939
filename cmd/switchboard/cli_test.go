package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// runCLI runs switchboard's command line in this process.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Help is asked for in every way a user tries: help, --help, -h, and
// --help after any command; it goes to stdout and exits 0. A mistake goes
// to stderr with the usage and exits 2.
func TestCLI_HelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"-help"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Commands:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("%v does not list %s:\n%s", args, c.name, out)
			}
		}
	}
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}} {
			code, out, _ := runCLI(args...)
			if code != 0 || !strings.HasPrefix(out, "Usage: switchboard "+c.name) {
				t.Errorf("%v: exit %d:\n%s", args, code, out)
			}
		}
	}
	if _, out, _ := runCLI("serve", "--help"); !strings.Contains(out, "-config") || !strings.Contains(out, "-log-format") {
		t.Errorf("serve --help lists no flags:\n%s", out)
	}
	if code, out, errOut := runCLI("--version-please"); code != 2 || out != "" || !strings.Contains(errOut, `unknown command "--version-please"`) {
		t.Errorf("an unknown command: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(); code != 2 || !strings.Contains(errOut, "Usage:") {
		t.Errorf("no command: exit %d, stderr %q", code, errOut)
	}
}

// check validates a configuration as serve loads it: the effective
// settings on stdout with every secret masked; a bad setting or file is
// named, and exits 1.
func TestCLI_CheckPrintsTheEffectiveConfigurationMasked(t *testing.T) {
	code, out, errOut := runCLI("check", "--set", "calls.ring_timeout=7s")
	if code != 0 || !strings.Contains(errOut, "the configuration is valid") {
		t.Fatalf("check: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "ring_timeout: 7s") || !strings.Contains(out, "password: "+secretMask) || !strings.Contains(out, "token: "+secretMask) {
		t.Errorf("check printed:\n%s", out)
	}
	for _, secret := range []string{"alice-secret", "acd-secret", "alice-demo-token-change-me", "sam-demo-token-change-me"} {
		if strings.Contains(out, secret) {
			t.Errorf("check printed the secret %q", secret)
		}
	}
	if code, _, errOut := runCLI("check", "--set", "acd.wrap_up=-1s"); code != 1 || !strings.Contains(errOut, "acd.wrap_up") {
		t.Errorf("a negative wrap-up: exit %d, stderr %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("calls:\n  ring_timeout: soon\nacd:\n  agents:\n    - {uri: \"sip:a@example.com\", skills: {billing: x}}\n"), 0o600)
	code, _, errOut = runCLI("check", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "calls.ring_timeout: line 2") || !strings.Contains(errOut, "acd.agents[0].skills.billing: line 5") {
		t.Errorf("a bad file: exit %d, stderr %q, want both settings named", code, errOut)
	}
}

// version says what the Makefile stamps at link time: version, commit
// and build date, and the Go it was built with.
func TestCLI_VersionFromTheLinkerFlags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "-ldflags",
		"-X main.version=1.4.2 -X main.commit=0123456789ab -X main.date=2026-12-06T14:00:00Z", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "switchboard 1.4.2 (commit 0123456789ab, built 2026-12-06T14:00:00Z, " + runtime.Version() + ")\n"; string(out) != want {
		t.Errorf("version: %q, want %q", out, want)
	}
}

// The JSON log uses the text log's words: an agent's state by name, a
// duration as the text log writes it.
func TestLog_JSONWritesWhatTheTextLogWrites(t *testing.T) {
	var text, js bytes.Buffer
	for _, l := range []struct {
		w      *bytes.Buffer
		format string
	}{{&text, "text"}, {&js, "json"}} {
		newLogger(l.w, l.format, slog.LevelInfo).Info("agent state", "from", acd.StateOffline, "to", acd.StateAvailable,
			"retry_after", 1500*time.Millisecond, "error", errors.New("boom"))
	}
	if !strings.Contains(text.String(), "from=offline to=available retry_after=1.5s") {
		t.Errorf("text log: %s", text.String())
	}
	if !strings.Contains(js.String(), `"from":"offline","to":"available","retry_after":"1.5s","error":"boom"`) {
		t.Errorf("JSON log: %s", js.String())
	}
}
