package natstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A Cluster's servers are child processes, so that one can be killed for
// real (SIGKILL: nothing flushed) and started again on its files. The
// child is the running executable itself (a test binary, or a tool such
// as sbbench that imports this package), started with serverEnv set to
// its settings: this package's init then runs a NATS server in it and
// never returns. The child ends when its stdin closes, so that servers do
// not outlive their parent, whatever the way it dies.
const serverEnv = "NATSTEST_SERVER"

func init() {
	if cfg := os.Getenv(serverEnv); cfg != "" {
		if err := serve(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "natstest server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// config is one server's settings, passed to its process in serverEnv.
type config struct {
	Name, Dir, Cluster             string
	Port, ClusterPort, MonitorPort int
	Routes                         []string // every server's route URL, its own included (ignored)
}

// serve runs a server with the settings cfg until stdin closes.
func serve(cfg string) error {
	var c config
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		return err
	}
	opts := &server.Options{ServerName: c.Name, Host: "127.0.0.1", Port: c.Port,
		HTTPHost: "127.0.0.1", HTTPPort: c.MonitorPort, JetStream: true, StoreDir: c.Dir, NoSigs: true}
	if c.Cluster != "" {
		opts.Cluster = server.ClusterOpts{Name: c.Cluster, Host: "127.0.0.1", Port: c.ClusterPort}
		opts.Routes = server.RoutesFromStr(strings.Join(c.Routes, ","))
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return err
	}
	srv.ConfigureLogger()
	srv.Start()
	io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies
	return nil
}

// Cluster is NATS servers with JetStream on loopback, each in a process
// of its own with its files in a directory of its own; with more than
// one, they form a cluster (routes between all, JetStream clustered).
type Cluster struct {
	Servers []*Server
}

// Server is one server of a Cluster.
type Server struct {
	Name    string
	URL     string // for clients: nats://127.0.0.1:port
	Monitor string // monitoring endpoint: http://127.0.0.1:port
	cfg     config
	exe     string // the executable to run it
	log     string // its stderr, appended to at every start
	started bool   // by Start, and not killed since
	cmd     *exec.Cmd
	stdin   *os.File // the write end of its stdin
	exited  chan struct{}
}

// StartCluster starts n servers with their files under dir, named n1...,
// and waits until they are ready (WaitReady, for at most 30 s).
func StartCluster(dir string, n int) (*Cluster, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{}
	var routes []string
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		s := &Server{Name: name, URL: fmt.Sprintf("nats://127.0.0.1:%d", ports[0]),
			Monitor: fmt.Sprintf("http://127.0.0.1:%d", ports[2]), exe: exe, log: filepath.Join(dir, name+".log"),
			cfg: config{Name: name, Dir: filepath.Join(dir, name), Port: ports[0], ClusterPort: ports[1], MonitorPort: ports[2]}}
		if n > 1 {
			s.cfg.Cluster = "natstest"
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[1]))
		}
		c.Servers = append(c.Servers, s)
	}
	for _, s := range c.Servers {
		s.cfg.Routes = routes
		if err := s.Start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// RunCluster starts n servers (StartCluster) for a test, in its directory;
// they are killed when it ends. The ports are found free and then let go
// before the servers bind them, so another process may take one
// meanwhile (other tests run beside): then it starts them again, on other
// ports, up to three times.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, err := StartCluster(t.TempDir(), n)
		if err == nil {
			t.Cleanup(c.Close)
			return c
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("starting the cluster again, on other ports: %v", firstLine(err.Error()))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// URLs are the servers' client URLs, comma-separated (store.nats.urls).
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL
	}
	return strings.Join(urls, ",")
}

// JetStream connects a client to the cluster, reconnecting to another
// server when its own goes, closed when the test ends.
func (c *Cluster) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// StreamLeader returns the server leading stream's Raft group.
func (c *Cluster) StreamLeader(t testing.TB, ctx context.Context, js jetstream.JetStream, stream string) *Server {
	t.Helper()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := c.Server(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("stream %s's leader %q is none of the cluster's servers", stream, info.Cluster.Leader)
	}
	return leader
}

// Server is the server named name, or nil.
func (c *Cluster) Server(name string) *Server {
	for _, s := range c.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Close kills every server that runs, and waits for them to end.
func (c *Cluster) Close() {
	for _, s := range c.Servers {
		s.Kill()
	}
}

// WaitReady polls every running server until each answers /healthz with
// 200 (JetStream current with its meta leader, its streams current) and,
// in a cluster, all agree on one meta leader of a meta group of them all;
// it fails when a server exits or ctx ends first.
func (c *Cluster) WaitReady(ctx context.Context) error {
	client := http.Client{Timeout: time.Second}
	var last error
	for {
		if last = c.ready(&client); last == nil {
			return nil
		}
		for _, s := range c.Servers {
			if s.started && !s.Running() {
				return fmt.Errorf("nats server %s exited:\n%s", s.Name, s.LogTail())
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nats cluster not ready: %w", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ready says why the running servers are not ready, or nil.
func (c *Cluster) ready(client *http.Client) error {
	leader := ""
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		res, err := client.Get(s.Monitor + "/healthz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: /healthz: %s", s.Name, res.Status)
		}
		if len(c.Servers) == 1 {
			continue
		}
		var js server.JSInfo
		if err := getJSON(client, s.Monitor+"/jsz", &js); err != nil {
			return err
		}
		switch {
		case js.Meta == nil || js.Meta.Leader == "":
			return fmt.Errorf("%s: no meta leader", s.Name)
		case js.Meta.Size != len(c.Servers):
			return fmt.Errorf("%s: meta group of %d", s.Name, js.Meta.Size)
		case leader != "" && js.Meta.Leader != leader:
			return fmt.Errorf("%s: meta leader %s, not %s", s.Name, js.Meta.Leader, leader)
		}
		leader = js.Meta.Leader
	}
	return nil
}

// Start starts the server, on its files of before if it ran already. It
// does not wait: Cluster.WaitReady does.
func (s *Server) Start() error {
	if s.Running() {
		return fmt.Errorf("nats server %s runs already", s.Name)
	}
	cfg, err := json.Marshal(s.cfg)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(s.exe)
	cmd.Env = append(os.Environ(), serverEnv+"="+string(cfg))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, logf, logf
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	s.cmd, s.stdin, s.exited, s.started = cmd, w, make(chan struct{}), true
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(s.exited)
	return nil
}

// Running reports whether the server's process runs.
func (s *Server) Running() bool {
	return s.exited != nil && !isClosed(s.exited)
}

// Kill ends the server with SIGKILL, keeping its files, and waits for its
// process to end. It does nothing when the server does not run.
func (s *Server) Kill() {
	if !s.started {
		return
	}
	s.started = false
	s.cmd.Process.Kill()
	<-s.exited
	s.stdin.Close()
}

// Pid is the process id of the server, while it runs.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Varz reads the server's general statistics (/varz): messages and bytes
// in and out, from clients and in all.
func (s *Server) Varz() (server.Varz, error) {
	var v server.Varz
	err := getJSON(&http.Client{Timeout: 5 * time.Second}, s.Monitor+"/varz", &v)
	return v, err
}

// LogTail is the end of the server's log.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(s.log)
	return string(b[max(0, len(b)-2000):])
}

func getJSON(client *http.Client, url string, v any) error {
	res, err := client.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// freePorts returns n loopback TCP ports free at the time of asking,
// all different.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
