package httpapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/testcert"
)

// event is one Server-Sent Event read from a stream: an availability
// event, the retry hint, or a comment (the heartbeat).
type event struct{ id, name, data, retry, comment string }

// eventSource is an open stream.
type eventSource struct {
	res    *http.Response
	events <-chan event
	err    error // why the body ended, once events is closed
}

// openStream connects to the availability stream with client, and the
// header fields hdr (name, value, ...).
func openStream(t *testing.T, client *http.Client, base string, hdr ...string) *eventSource {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/availability/stream", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	var res *http.Response
	siptest.WaitFor(t, "stream open", func() bool {
		var err error
		res, err = client.Do(req)
		return err == nil
	})
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan event, 16)
	es := &eventSource{res: res, events: events}
	go func() {
		defer res.Body.Close()
		defer close(events)
		r := bufio.NewReader(res.Body)
		var e event
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				es.err = err
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if e != (event{}) {
					events <- e
				}
				e = event{}
			case strings.HasPrefix(line, ": "):
				e.comment = line[2:]
			case strings.HasPrefix(line, "retry: "):
				e.retry = line[7:]
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			}
		}
	}()
	return es
}

// read returns the stream's next event.
func read(t *testing.T, es *eventSource) event {
	t.Helper()
	select {
	case e, ok := <-es.events:
		if !ok {
			t.Fatalf("stream closed: %v", es.err)
		}
		return e
	case <-time.After(siptest.Wait):
		t.Fatal("no event")
		return event{}
	}
}

// next returns the stream's next availability event.
func next(t *testing.T, es *eventSource) event {
	t.Helper()
	for {
		if e := read(t, es); e.name != "" {
			return e
		}
	}
}

// end waits for the end of the stream's body and returns why it ended:
// nil after the last chunk.
func end(t *testing.T, es *eventSource) error {
	t.Helper()
	timeout := time.After(siptest.Wait)
	for {
		select {
		case _, ok := <-es.events:
			if !ok {
				return es.err
			}
		case <-timeout:
			t.Fatal("the stream did not end")
		}
	}
}

func TestStream_OneEventPerChangedSnapshotAndResume(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	events := openStream(t, noKeepAlive, base)
	first := next(t, events)
	if first.name != "availability" || !strings.Contains(first.data, `"status":"full"`) || first.id == "" {
		t.Fatalf("first event: %+v", first)
	}
	open := billing
	open.Available, open.Accepting = 1, true
	g.set(open)
	second := next(t, events)
	if !strings.Contains(second.data, `"status":"open"`) || second.id == first.id {
		t.Fatalf("after the change: %+v", second)
	}

	// A client resuming at the current snapshot waits for the next one.
	resumed := openStream(t, noKeepAlive, base, "Last-Event-ID", second.id)
	g.set(billing)
	if e := next(t, resumed); !strings.Contains(e.data, `"status":"full"`) {
		t.Fatalf("resumed stream's first event: %+v", e)
	}
}

// What EventSource needs, and proxies: the retry hint first, then the
// snapshot, heartbeats while nothing changes, CORS for the site, no
// caching and no proxy buffering, on a chunked body.
func TestStream_RetryHintThenEventThenHeartbeats(t *testing.T) {
	g := &groups{}
	g.set(billing)
	w := startWebRole(t, g, Config{Addr: "127.0.0.1:0"}, func(s *streams) { s.heartbeat = 20 * time.Millisecond })
	es := openStream(t, noKeepAlive, w.base, "Origin", "https://shop.example.com")
	for name, want := range map[string]string{"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
		"Access-Control-Allow-Origin": "https://shop.example.com"} {
		if got := es.res.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if te := es.res.TransferEncoding; len(te) != 1 || te[0] != "chunked" {
		t.Errorf("Transfer-Encoding %q, want chunked", te)
	}
	if e := read(t, es); e.retry != "100" {
		t.Fatalf("first %+v, want the retry hint", e)
	}
	if e := read(t, es); e.name != "availability" {
		t.Fatalf("second %+v, want the snapshot", e)
	}
	for range 2 {
		if e := read(t, es); e.comment != "heartbeat" {
			t.Fatalf("%+v while nothing changes, want a heartbeat", e)
		}
	}
}

// A stream is held by no handler: the client that has gone is found by
// the next heartbeat, and its connection closed.
func TestStream_ClientGoneIsDropped(t *testing.T) {
	g := &groups{}
	g.set(billing)
	w := startWebRole(t, g, Config{Addr: "127.0.0.1:0"}, func(s *streams) { s.heartbeat = 20 * time.Millisecond })
	c := dialStream(t, w.Addr(), 0)
	siptest.WaitFor(t, "stream handed over", func() bool { return w.streams.held.Load() == 1 })
	c.Close()
	siptest.WaitFor(t, "stream dropped", func() bool { return w.streams.held.Load() == 0 })
}

// A client that does not drain its socket is dropped once a write has
// waited writeTimeout, and its connection closed.
func TestStream_ClientNotReadingIsDropped(t *testing.T) {
	g := &groups{}
	g.set(billing)
	w := startWebRole(t, g, Config{Addr: "127.0.0.1:0"}, func(s *streams) { s.writeTimeout = 100 * time.Millisecond })
	c := dialStream(t, w.Addr(), 1) // the kernel's smallest receive buffer
	siptest.WaitFor(t, "stream handed over", func() bool { return w.streams.held.Load() == 1 })
	// Snapshots of half a megabyte each, a new one at every refresh,
	// fill the socket's buffers on both sides.
	big := make([]acd.GroupStatus, 10)
	for i := range big {
		big[i] = billing
		big[i].Name = strings.Repeat("Billing ", 6<<10)
	}
	siptest.WaitFor(t, "stream dropped", func() bool {
		big = slices.Clone(big)
		big[0].QueueLength++
		g.set(big...)
		return w.streams.held.Load() == 0
	})
	c.SetReadDeadline(time.Now().Add(siptest.Wait))
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the dropped stream's connection is still open")
	}
}

// dialStream opens a stream on a connection whose receive buffer is
// rcvbuf bytes (0: the default), and reads nothing from it.
func dialStream(t *testing.T, addr string, rcvbuf int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: siptest.Wait, Control: func(_, _ string, rc syscall.RawConn) error {
		if rcvbuf == 0 {
			return nil
		}
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /v1/availability/stream HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// Every stream ends, with the last chunk, when the server shuts down, and
// when the snapshots stop.
func TestStream_EndsWithServerAndSnapshots(t *testing.T) {
	for name, stop := range map[string]func(*webRole){
		"shutdown": func(w *webRole) {
			ctx, cancel := context.WithTimeout(context.Background(), siptest.Wait)
			defer cancel()
			w.Shutdown(ctx)
		},
		"snapshots": func(w *webRole) { w.endSnapshots() },
	} {
		t.Run(name, func(t *testing.T) {
			g := &groups{}
			g.set(billing)
			w := startWebRole(t, g, Config{Addr: "127.0.0.1:0"})
			a, b := openStream(t, noKeepAlive, w.base), openStream(t, noKeepAlive, w.base)
			next(t, a)
			next(t, b)
			siptest.WaitFor(t, "streams handed over", func() bool { return w.streams.held.Load() == 2 })
			stop(w)
			for _, es := range []*eventSource{a, b} {
				if err := end(t, es); err != io.EOF {
					t.Errorf("the stream ended with %v, want the last chunk", err)
				}
			}
			siptest.WaitFor(t, "streams dropped", func() bool { return w.streams.held.Load() == 0 })
		})
	}
}

// Over TLS the connection cannot leave hertz; the stream still works, and
// ends with the server.
func TestStream_OverTLS(t *testing.T) {
	cert, key, pool := testcert.Write(t)
	g := &groups{}
	g.set(billing)
	w := startWebRole(t, g, Config{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	es := openStream(t, client, w.base)
	if first := next(t, es); !strings.Contains(first.data, `"status":"full"`) {
		t.Fatalf("first event: %+v", first)
	}
	open := billing
	open.Available, open.Accepting = 1, true
	g.set(open)
	if second := next(t, es); !strings.Contains(second.data, `"status":"open"`) {
		t.Fatalf("after the change: %+v", second)
	}
	w.stop()
	end(t, es)
	if n := w.streams.held.Load(); n != 0 {
		t.Fatalf("%d streams held after the server stopped", n)
	}
}
