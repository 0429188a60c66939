package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
)

// lookSIPVicious finds one of SIPVicious' tools (Debian's sipvicious
// package), skipping the test without it unless in CI.
func lookSIPVicious(t *testing.T, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing: `make deps` installs sipvicious", tool)
	}
	t.Skipf("%s is missing: `make deps` installs sipvicious", tool)
	return ""
}

// TestSIPVicious_NoEnumerationAndGuessingMeetsRefusal runs the attack tools
// against the default configuration on loopback: svwar enumerates no user
// (known and unknown users get the same challenge), svcrack is refused (403)
// before 20 guesses, never finds the password placed 25th in its
// dictionary, and the server still answers others afterwards.
func TestSIPVicious_NoEnumerationAndGuessingMeetsRefusal(t *testing.T) {
	svwar, svcrack := lookSIPVicious(t, "svwar"), lookSIPVicious(t, "svcrack")
	p := startSwitchboard(t, t.TempDir())
	_, port, _ := net.SplitHostPort(p.UDP)
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	users := write("users.txt", "alice", "bob", "acd", "web", "carol", "100")
	out, err := exec.CommandContext(ctx, svwar, "-d", users, "-m", "REGISTER", "-p", port, "127.0.0.1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "found nothing") || strings.Contains(string(out), "alice") {
		t.Errorf("svwar: %v\n%s", err, out)
	}

	var guesses []string
	for i := range 24 {
		guesses = append(guesses, "guess"+string(rune('a'+i)))
	}
	dict := write("passwords.txt", append(guesses, "alice-secret")...)
	var crackOut bytes.Buffer
	crack := exec.CommandContext(ctx, svcrack, "-u", "alice", "-d", dict, "-p", port, "127.0.0.1")
	crack.Stdout, crack.Stderr = &crackOut, &crackOut
	if err := crack.Start(); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, p, `switchboard_refused_total{limit="sip.auth.max_failures"}`, atLeast(1))
	crack.Process.Kill()
	crack.Wait()
	if strings.Contains(crackOut.String(), "alice-secret") {
		t.Fatalf("svcrack found the password:\n%s", crackOut.String())
	}
	if n := scrapeMetrics(t, p)[`switchboard_sip_requests_total{method="REGISTER",status="401"}`]; n >= 20+2 {
		t.Errorf("%v REGISTERs challenged: svcrack made 20 guesses or more before a refusal", n)
	}

	phone := siptest.NewPeer(t)
	reg := phone.Request("REGISTER", "sip:example.com", "bob", p.UDP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "bob", Host: "example.com"}
	if res := phone.DoAuth(reg, "bob", "bob-secret"); res.StatusCode != 200 {
		t.Fatalf("bob's REGISTER after the attack: %d %s", res.StatusCode, res.Reason)
	}
}
