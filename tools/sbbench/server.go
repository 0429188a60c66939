package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// server is one running switchboard.
type server struct {
	cmd     *exec.Cmd
	sip     string // host:port, UDP and TCP
	http    string // host:port of the API and /readyz
	metrics string // host:port of /metrics
	log     string // a file: its stdout and stderr
	exited  chan struct{}
}

// startServer runs the bench configuration (auth off, loopback only, a
// store in dir, warnings only), with extra arguments after it (such as
// --config FILE or more --set), and waits until its /readyz answers.
func startServer(ctx context.Context, bin, dir string, extra ...string) (*server, error) {
	sipAddr, err1 := freeAddr()
	httpAddr, err2 := freeAddr()
	metricsAddr, err3 := freeAddr()
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "switchboard.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	s := &server{sip: sipAddr, http: httpAddr, metrics: metricsAddr, log: logf.Name(), exited: make(chan struct{})}
	args := append([]string{"serve", "--set", "sip.auth.enabled=false",
		"--set", "sip.udp=" + sipAddr, "--set", "sip.tcp=" + sipAddr, "--set", "sip.ws=",
		"--set", "sip.host=" + loopback, "--set", "http.addr=" + httpAddr, "--set", "metrics.addr=" + metricsAddr,
		"--set", "store.path=" + filepath.Join(dir, "switchboard.db"), "--set", "log.level=warn",
		// One load generator is one client: the per-client caps (docs/security.md),
		// which it would pass at once, are lifted to measure throughput.
		"--set", "presence.max_subscriptions_per_watcher=10000000",
		"--set", "presence.max_subscriptions_per_presentity=10000000"}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr, s.cmd.SysProcAttr = logf, logf, childAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	client := http.Client{Timeout: time.Second}
	err = s.waitReady(ctx, "switchboard", func() bool {
		res, err := client.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// waitReady polls ready until it says yes, for up to 15 s; it stops the
// server and says why when it exits first, ctx ends, or time runs out.
func (s *server) waitReady(ctx context.Context, name string, ready func() bool) error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if ready() {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited at start:\n%s", name, s.logTail())
		case <-ctx.Done():
			s.stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.stop()
	return fmt.Errorf("%s not ready after 15s:\n%s", name, s.logTail())
}

// stop ends the server (SIGTERM, SIGKILL after 15 s) and returns the CPU
// time it used and its peak RSS in MiB. It may be called more than once.
func (s *server) stop() (time.Duration, int64) {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	ps := s.cmd.ProcessState
	return ps.UserTime() + ps.SystemTime(), maxRSS(ps)
}

// logTail is the end of the server's log, for error reports.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	return string(b[max(0, len(b)-2000):])
}

// freeAddr returns a loopback address whose port is free for both UDP and
// TCP at the time of asking.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	addr := l.Addr().String()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return "", fmt.Errorf("port of %s is taken for UDP: %w", addr, err)
	}
	return addr, u.Close()
}
