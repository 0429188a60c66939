package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/adaptor"
	"github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/network/standard"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config places the HTTP listener.
type Config struct {
	// Addr is the listen address, "host:port".
	Addr string `yaml:"addr"`
	// CertFile and KeyFile switch on HTTPS when both are set.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%s.addr: %q is not host:port", prefix, c.Addr)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%s.cert_file: cert_file and key_file go together", prefix)
	}
	return nil
}

// Ready reports whether the process can serve; nil means ready.
type Ready func() error

// Server is the HTTP listener and its routes.
type Server struct {
	h    *server.Hertz
	addr string
}

// New binds the listener and sets up the routes; Run serves them. agents
// may be nil when the ACD role does not run here.
func New(cfg Config, gatherer prometheus.Gatherer, ready Ready, agents Agents, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("http: listen %s: %w", cfg.Addr, err)
	}
	opts := []config.Option{
		server.WithListener(ln),
		server.WithTransport(standard.NewTransporter),
		server.WithDisablePrintRoute(true),
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("http: load certificate: %w", err)
		}
		opts = append(opts, server.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}
	h := server.New(opts...)
	h.GET("/metrics", adaptor.HertzHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	h.GET("/healthz", func(_ context.Context, c *app.RequestContext) {
		c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	h.GET("/readyz", func(_ context.Context, c *app.RequestContext) {
		if err := ready(); err != nil {
			c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "message": err.Error()})
			return
		}
		c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	if agents != nil {
		agentRoutes(&h.RouterGroup, agents)
	}
	return &Server{h: h, addr: ln.Addr().String()}, nil
}

// Addr returns the bound address.
func (s *Server) Addr() string { return s.addr }

// Run serves until Shutdown.
func (s *Server) Run() error {
	if err := s.h.Run(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.h.Shutdown(ctx)
}
