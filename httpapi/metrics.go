package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsConfig places the Prometheus endpoint, off the visitors' port.
type MetricsConfig struct {
	// Addr is the listen address of /metrics, "host:port": loopback by
	// default, so that only the host (or a scraper given access) reads
	// the process's figures.
	Addr string `yaml:"addr"`
	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on
	// the same listener: CPU, heap, allocations, goroutines, mutex and
	// block contention, for profiling under load. Off by default.
	Pprof bool `yaml:"pprof"`
}

// Validate names the first bad field under prefix.
func (c MetricsConfig) Validate(prefix string) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%s.addr: %q is not host:port", prefix, c.Addr)
	}
	return nil
}

// MetricsServer serves GET /metrics, and the profiles when asked, on its
// own listener.
type MetricsServer struct {
	srv *http.Server
	ln  net.Listener
}

// NewMetrics binds the metrics listener; Run serves it, with admin's
// endpoint when it has a token (admin.go).
func NewMetrics(cfg MetricsConfig, g prometheus.Gatherer, admin Admin) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", cfg.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	if admin.enabled() {
		mux.HandleFunc("GET /admin/backup", admin.serveBackup)
	}
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return &MetricsServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}}, nil
}

// Addr returns the bound address.
func (m *MetricsServer) Addr() string { return m.ln.Addr().String() }

// Run serves until Shutdown.
func (m *MetricsServer) Run() error {
	if err := m.srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Shutdown stops the listener and waits for scrapes in flight, up to ctx.
func (m *MetricsServer) Shutdown(ctx context.Context) error { return m.srv.Shutdown(ctx) }
