package httpapi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/common/hlog"

	"github.com/switchboard/switchboard/internal/siptest"
)

// clientsEnv makes the test binary the benchmark's client process: its
// value, "n@addr", is how many streams to open to which server.
const clientsEnv = "HTTPAPI_STREAM_CLIENTS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(clientsEnv); spec != "" {
		os.Exit(streamClients(spec, os.Stdin, os.Stdout))
	}
	// Hertz's own lines, as in the binary: no startup chatter in the
	// benchmarks' output.
	hlog.SetLevel(hlog.LevelWarn)
	os.Exit(m.Run())
}

// BenchmarkStreams measures what one open availability stream costs the
// server: heap and stacks in use, goroutines and file descriptors, with
// every stream past its first event. The clients run in a child process,
// so that only the server's side is counted.
//
// 100,000 streams cannot be opened here: the descriptor limit is 20,000
// per process and cannot be raised. Run with -benchtime=1x for one pass.
func BenchmarkStreams(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var sum footprint
			passes := 0
			for b.Loop() {
				f := measureStreams(b, n)
				sum = sum.plus(f)
				passes++
			}
			per := float64(n * passes)
			b.ReportMetric(sum.bytes/per, "B/stream")
			b.ReportMetric(sum.goroutines/per, "goroutines/stream")
			b.ReportMetric(sum.fds/per, "fds/stream")
		})
	}
}

// footprint is what the server holds: bytes of heap and stacks in use,
// goroutines, and open file descriptors (-1 without /proc). Not counted:
// the kernel's socket, and the Go poller's descriptor of each socket in
// it, allocated outside the heap and reused, never freed.
type footprint struct{ bytes, goroutines, fds float64 }

func (f footprint) plus(g footprint) footprint {
	return footprint{f.bytes + g.bytes, f.goroutines + g.goroutines, f.fds + g.fds}
}

func (f footprint) minus(g footprint) footprint {
	return f.plus(footprint{-g.bytes, -g.goroutines, -g.fds})
}

func serverFootprint() footprint {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fds := -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = len(ents)
	}
	return footprint{float64(m.HeapInuse + m.StackInuse), float64(runtime.NumGoroutine()), float64(fds)}
}

// measureStreams starts a server, has a child process open n streams to
// it, and returns what they cost the server.
func measureStreams(b *testing.B, n int) footprint {
	g := &groups{}
	g.set(billing)
	s := newWebRole(b, g, Config{Addr: "127.0.0.1:0"})
	defer s.stop()
	before := serverFootprint()

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%d@%s", clientsEnv, n, s.Addr()))
	child.Stderr = os.Stderr
	hold, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer child.Wait()
	defer hold.Close() // the child holds its streams until its stdin closes
	ready := make(chan string, 1)
	go func() { // ends when the child does
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			b.Fatalf("client process: %q", line)
		}
	case <-time.After(2 * time.Minute):
		child.Process.Kill()
		b.Fatalf("%d streams not open after 2 minutes", n)
	}
	// Each stream's handler has sent its first event; it hands the
	// connection over just after.
	siptest.WaitFor(b, "streams handed over", func() bool { return s.streams.held.Load() == int64(n) })
	return serverFootprint().minus(before)
}

// streamClients is the client process: it opens n streams to the server
// at addr, each past its first event, says "ready" on out and holds them
// until in ends. It returns the exit status.
func streamClients(spec string, in io.Reader, out io.Writer) int {
	count, addr, _ := strings.Cut(spec, "@")
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s=%q: want n@addr\n", clientsEnv, spec)
		return 2
	}
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	const dialers = 64
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < n; i += dialers {
				conns[i], errs[i] = openRawStream(addr)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, "stream:", err)
			return 1
		}
	}
	fmt.Fprintln(out, "ready")
	io.Copy(io.Discard, in)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// openRawStream sends GET /v1/availability/stream on a new connection
// and reads the answer up to the end of its first event.
func openRawStream(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET /v1/availability/stream HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(c, 1024)
	status, err := r.ReadString('\n')
	if err == nil && !strings.HasPrefix(status, "HTTP/1.1 200 ") {
		err = fmt.Errorf("status %q", status)
	}
	for inEvent := false; err == nil; {
		var line string
		if line, err = r.ReadString('\n'); inEvent && line == "\n" {
			break
		}
		inEvent = inEvent || line == "event: availability\n"
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
