package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/testcert"
)

func start(t *testing.T, cfg Config, ready Ready) *Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_test_total", Help: "test"}))
	return serve(t, cfg, Deps{Registerer: reg, Ready: ready})
}

// serve runs a server with cfg and deps until the test ends.
func serve(t *testing.T, cfg Config, deps Deps) *Server {
	t.Helper()
	s, err := New(cfg, deps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Run()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	var res *http.Response
	siptest.WaitFor(t, "server up", func() bool { // it may still be starting
		var err error
		res, err = client.Get(url)
		return err == nil
	})
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestOps_HealthReadinessAndMetrics(t *testing.T) {
	var notReady atomic.Pointer[error] // the handler runs on netpoll's goroutines
	s := start(t, Config{Addr: "127.0.0.1:0"}, func() error {
		if e := notReady.Load(); e != nil {
			return *e
		}
		return nil
	})
	base := "http://" + s.Addr()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // shutdown waits for idle connections
	if code, body := get(t, client, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	if code, _ := get(t, client, base+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	draining := errors.New("shutting down")
	notReady.Store(&draining)
	if code, body := get(t, client, base+"/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("readyz while draining: %d %s", code, body)
	}
	if code, _ := get(t, client, base+"/metrics"); code != 404 {
		t.Fatalf("/metrics on the visitors' port: %d, want 404", code)
	}
}

// /metrics is served on its own listener, and Go's profiles beside it
// only when metrics.pprof is on.
func TestOps_MetricsOnTheirOwnListener(t *testing.T) {
	for _, pprof := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_test_total", Help: "test"}))
		m, err := NewMetrics(MetricsConfig{Addr: "127.0.0.1:0", Pprof: pprof}, reg, Admin{})
		if err != nil {
			t.Fatal(err)
		}
		go m.Run()
		t.Cleanup(func() { m.Shutdown(context.Background()) })
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		if code, body := get(t, client, "http://"+m.Addr()+"/metrics"); code != 200 || !strings.Contains(body, "switchboard_test_total") {
			t.Fatalf("metrics: %d", code)
		}
		want := map[bool]int{false: 404, true: 200}[pprof]
		if code, _ := get(t, client, "http://"+m.Addr()+"/debug/pprof/goroutine?debug=1"); code != want {
			t.Errorf("pprof %v: /debug/pprof/goroutine %d, want %d", pprof, code, want)
		}
	}
}

func TestOps_HTTPSWhenCertificateConfigured(t *testing.T) {
	cert, key, pool := testcert.Write(t)
	s := start(t, Config{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: key}, func() error { return nil })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	if code, _ := get(t, client, "https://"+s.Addr()+"/healthz"); code != 200 {
		t.Fatalf("healthz over HTTPS: %d", code)
	}
}

// A request that never completes is dropped after http.read_timeout, not
// after hertz's three minutes.
func TestOps_HalfSentRequestIsDropped(t *testing.T) {
	s := start(t, Config{Addr: "127.0.0.1:0", ReadTimeout: 300 * time.Millisecond}, func() error { return nil })
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /v1/context HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa"))
	c.SetReadDeadline(time.Now().Add(siptest.Wait))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the half-sent request's connection stayed open: %v", err)
	}
}
