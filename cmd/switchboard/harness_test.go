package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// binary is the switchboard executable built once for this package's tests.
var binary string

func TestMain(m *testing.M) {
	sipmsg.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dir, err := os.MkdirTemp("", "switchboard-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchboard")
	args := []string{"build", "-o", binary}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build switchboard:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running switchboard process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	DB   string
	UDP  string // bound SIP, HTTP and metrics addresses, read from the start-up log
	TCP  string
	WS   string
	TLS  string // SIP over TLS and WSS, when set
	WSS  string
	HTTP string
	// ACMEHTTP is tls.acme's HTTP-01 listener, when there is one.
	ACMEHTTP string
	Metrics  string
	mu       sync.Mutex
	logTail  []string
	races    int // data races the race detector reported
	exited   chan struct{}
}

// startSwitchboard runs the binary on loopback ports chosen by the kernel,
// with the database in dir, extra --set overrides, and waits until it has
// logged its addresses.
func startSwitchboard(t *testing.T, dir string, sets ...string) *proc {
	t.Helper()
	p := &proc{t: t, DB: filepath.Join(dir, "switchboard.db"), exited: make(chan struct{})}
	args := []string{"serve", "--log-format", "json",
		"--set", "store.path=" + p.DB,
		"--set", "sip.udp=127.0.0.1:0", "--set", "sip.tcp=127.0.0.1:0", "--set", "sip.ws=127.0.0.1:0",
		"--set", "sip.host=127.0.0.1", "--set", "http.addr=127.0.0.1:0", "--set", "metrics.addr=127.0.0.1:0"}
	for _, s := range sets {
		if strings.HasPrefix(s, "--") { // a flag of its own, such as --config=FILE
			args = append(args, s)
			continue
		}
		args = append(args, "--set", s)
	}
	p.cmd = exec.Command(binary, args...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan map[string]any, 1)
	go p.readLog(stderr, started)
	go func() { p.cmd.Wait(); close(p.exited) }()
	select {
	case rec := <-started:
		p.UDP, _ = rec["sip_udp"].(string)
		p.TCP, _ = rec["sip_tcp"].(string)
		p.WS, _ = rec["sip_ws"].(string)
		p.TLS, _ = rec["sip_tls"].(string)
		p.WSS, _ = rec["sip_wss"].(string)
		p.ACMEHTTP, _ = rec["acme_http"].(string)
		p.HTTP, _ = rec["http"].(string)
		p.Metrics, _ = rec["metrics"].(string)
	case <-p.exited:
		t.Fatalf("switchboard exited at start:\n%s", p.logs())
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("switchboard did not start:\n%s", p.logs())
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.races > 0 {
			t.Errorf("the race detector reported %d data races in switchboard:\n%s", p.races, strings.Join(p.logTail, "\n"))
		}
	})
	return p
}

// readLog keeps the last log lines and reports the start-up record.
func (p *proc) readLog(r io.Reader, started chan<- map[string]any) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		if strings.Contains(line, "WARNING: DATA RACE") {
			p.races++
		}
		p.logTail = append(p.logTail, line)
		if len(p.logTail) > 50 {
			p.logTail = p.logTail[1:]
		}
		p.mu.Unlock()
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "switchboard started" {
			started <- rec
		}
	}
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logTail, "\n")
}

// kill ends the process with SIGKILL: nothing is flushed or closed.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("switchboard did not stop on SIGTERM:\n%s", p.logs())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("switchboard exited with %d:\n%s", code, p.logs())
	}
}
