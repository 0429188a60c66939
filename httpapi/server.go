package httpapi

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/network/netpoll"
	"github.com/cloudwego/hertz/pkg/network/standard"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/netlist"
	"github.com/switchboard/switchboard/internal/refused"
)

// Config places the HTTP listener.
type Config struct {
	// Addr is the listen address, "host:port".
	Addr string `yaml:"addr"`
	// CertFile and KeyFile switch on HTTPS when both are set; without
	// them, HTTPS serves the certificate ACME obtains (tls.acme).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// TrustedProxies are the addresses (IPs or CIDRs) of the reverse
	// proxies in front: only from them is the client address read from
	// X-Forwarded-For or X-Real-IP. Empty: the socket's address, always,
	// so that nobody escapes the per-address limits by naming another.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ReadTimeout closes a connection whose request (headers and body)
	// does not arrive within it; IdleTimeout one that sends no next
	// request on a kept-alive connection. 0 keeps hertz's (3 minutes).
	ReadTimeout time.Duration `yaml:"read_timeout"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxBodyBytes bounds a request body (a browser's SDP offer is a few
	// KB): past it, 413 with a JSON error before the body is read, and the
	// connection closes. Default 64 KiB.
	MaxBodyBytes int `yaml:"max_body_bytes"`
}

// maxBody is MaxBodyBytes or its default.
func (c Config) maxBody() int {
	if c.MaxBodyBytes > 0 {
		return c.MaxBodyBytes
	}
	return 64 << 10
}

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%s.addr: %q is not host:port", prefix, c.Addr)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%s.cert_file: cert_file and key_file go together", prefix)
	}
	if _, err := c.trustedNets(); err != nil {
		return fmt.Errorf("%s.%w", prefix, err)
	}
	if c.ReadTimeout < 0 || c.IdleTimeout < 0 {
		return fmt.Errorf("%s.read_timeout, idle_timeout: must not be negative", prefix)
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("%s.max_body_bytes: must not be negative", prefix)
	}
	return nil
}

// trustedNets parses TrustedProxies in hertz's terms.
func (c Config) trustedNets() ([]*net.IPNet, error) {
	prefixes, err := netlist.Parse(c.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies%w", err)
	}
	nets := make([]*net.IPNet, len(prefixes))
	for i, p := range prefixes {
		nets[i] = &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	}
	return nets, nil
}

// WebConfig is the web role: the availability API's snapshot and CORS.
type WebConfig struct {
	// RefreshInterval is how often the availability snapshot is rebuilt
	// from the presence server; polls are served from the snapshot.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// AllowedOrigins may read the API from a browser (CORS); "*" allows
	// any. Other origins get no CORS headers.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// PresenceServer is the presence server to watch the group
	// presentities on, a SIP URI, when the presence role does not run in
	// this process; Username and Password authenticate the SUBSCRIBEs.
	PresenceServer string `yaml:"presence_server"`
	Username       string `yaml:"username"`
	Password       string `yaml:"password"`
	// CookieKey signs visitor cookies: at least 32 hex-encoded bytes, the
	// same on every web host behind one name. Empty: a key generated at
	// first start and kept in the store.
	CookieKey string `yaml:"cookie_key"`
	// CookieDomain is the visitor cookie's Domain ("" for host-only). Set
	// it (e.g. "example.com") when the ACD, which serves the calls API,
	// runs on another host of the site than the web role: the cookie then
	// reaches both (with the same CookieKey).
	CookieDomain string `yaml:"cookie_domain"`
	// CookieMaxAge is how long a visitor's context cookie is honoured.
	CookieMaxAge time.Duration `yaml:"cookie_max_age"`
	// CookiesBeforeConsent lets GET /v1/context set the cookie before the
	// visitor interacts with the widget; off, only POST does.
	CookiesBeforeConsent bool `yaml:"cookies_before_consent"`
	// CustomerTokenKey is the secret the site signs customer tokens with
	// (HMAC-SHA256 of the customer id, or of "id.tier" with a service
	// tier, hex); empty refuses customer tokens.
	CustomerTokenKey string `yaml:"customer_token_key"`
}

// Validate names the first bad field under prefix.
func (c WebConfig) Validate(prefix string) error {
	if c.RefreshInterval < 100*time.Millisecond || c.RefreshInterval > time.Hour {
		return fmt.Errorf("%s.refresh_interval: %s must lie between 100ms and 1h", prefix, c.RefreshInterval)
	}
	if k, err := hex.DecodeString(c.CookieKey); c.CookieKey != "" && (err != nil || len(k) < 32) {
		return fmt.Errorf("%s.cookie_key: must be at least 32 bytes, hex-encoded (64 hex digits)", prefix)
	}
	if c.CookieMaxAge < time.Minute {
		return fmt.Errorf("%s.cookie_max_age: %s is under a minute", prefix, c.CookieMaxAge)
	}
	for i, o := range c.AllowedOrigins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return fmt.Errorf("%s.allowed_origins[%d]: %q is not an origin such as https://www.example.com", prefix, i, o)
		}
	}
	return nil
}

// Ready reports whether the process can serve; nil means ready.
type Ready func() error

// Deps are what the routes serve; nil ones leave their routes out.
type Deps struct {
	// TLS, when set, serves HTTPS with it (ACME certificates from
	// tlscert) unless Config names a cert_file of its own.
	TLS *tls.Config
	// Registerer takes the HTTP facade's own metrics (requests by route
	// and their latency, refused requests); they are served by
	// MetricsServer, not here.
	Registerer prometheus.Registerer
	Ready      Ready
	// Agents serves the agent API (ACD role).
	Agents Agents
	// Snapshots serves the availability API (web role), with Web and
	// CookieKey, the secret that signs visitor cookies (also read by the
	// calls API).
	Snapshots *Snapshots
	Web       WebConfig
	CookieKey []byte
	// Calls serves the visitors' calls (the ACD role).
	Calls Calls
	// Chats serves the visitors' chats (the ACD role).
	Chats Chats
	// Softphones serves, with Agents, the agents' browser softphones (the
	// ACD role, with Calls).
	Softphones Softphones
	// Supervisors serves the supervisor view (the ACD role).
	Supervisors Supervisors
	// AgentCalls serves, with Agents, the console's hold and transfer of
	// the agent's call (the ACD role, with Calls).
	AgentCalls AgentCalls
	// Callbacks serves callbacks and, with Agents, the agent console,
	// limited by CallbackLimits.
	Callbacks      Callbacks
	CallbackLimits RateLimits
	// Standby, when set, has the routes of the ACD (agents, softphones,
	// calls, chats, supervisors, callbacks, console) answer 503 naming
	// the leader while this node's ACD stands by.
	Standby Standby
}

// Server is the HTTP listener and its routes.
type Server struct {
	h       *server.Hertz
	addr    string
	streams *streams // the availability streams; nil without Snapshots
}

// New binds the listener and sets up the routes; Run serves them.
func New(cfg Config, deps Deps, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("http: listen %s: %w", cfg.Addr, err)
	}
	tlsConf := deps.TLS
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("http: load certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	// netpoll serves plain HTTP with lower tail latency (make bench: p99
	// 2.3 ms against 5.7 ms); it has no TLS, so HTTPS uses the standard one.
	transport := netpoll.NewTransporter
	if tlsConf != nil {
		transport = standard.NewTransporter
	}
	opts := []config.Option{
		server.WithListener(ln),
		server.WithTransport(transport),
		server.WithDisablePrintRoute(true),
		// Hertz reads a body up to its own limit before any handler runs,
		// and refuses one past it in plain text. With a limit of one byte
		// it reads what has arrived and hands on a stream, which
		// limitBody reads up to http.max_body_bytes or refuses in JSON by
		// its Content-Length, before reading it.
		server.WithStreamBody(true),
		server.WithMaxRequestBodySize(1),
	}
	if cfg.ReadTimeout > 0 {
		opts = append(opts, server.WithReadTimeout(cfg.ReadTimeout))
	}
	if cfg.IdleTimeout > 0 {
		opts = append(opts, server.WithIdleTimeout(cfg.IdleTimeout))
	}
	if tlsConf != nil {
		opts = append(opts, server.WithTLS(tlsConf))
	}
	h := server.New(opts...)
	trusted, err := cfg.trustedNets()
	if err != nil {
		ln.Close()
		return nil, err
	}
	h.SetClientIPFunc(app.ClientIPWithOption(app.ClientIPOptions{
		RemoteIPHeaders: []string{"X-Forwarded-For", "X-Real-IP"}, TrustedCIDRs: trusted}))
	refusals := refused.Counter(deps.Registerer)
	h.Use(newRequestMetrics(deps.Registerer).handler(), limitBody(cfg.maxBody(), refusals))
	h.GET("/healthz", func(_ context.Context, c *app.RequestContext) {
		c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	h.GET("/readyz", func(_ context.Context, c *app.RequestContext) {
		if err := deps.Ready(); err != nil {
			c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "message": err.Error()})
			return
		}
		c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	acdRoutes := &h.RouterGroup
	if deps.Standby != nil {
		acdRoutes = h.Group("", standbyGate(deps.Standby))
	}
	if deps.Agents != nil {
		agentRoutes(acdRoutes, deps.Agents, deps.Softphones)
		if deps.Softphones != nil {
			softphoneRoutes(acdRoutes, deps.Agents, deps.Softphones, refusals)
		}
		if deps.AgentCalls != nil {
			agentCallRoutes(acdRoutes, deps.Agents, deps.AgentCalls)
		}
	}
	codec := visitorCodec{key: deps.CookieKey, maxAge: deps.Web.CookieMaxAge, domain: deps.Web.CookieDomain,
		secure: tlsConf != nil}
	var all *streams
	if deps.Snapshots != nil {
		all = newStreams(deps.Snapshots)
		if deps.Registerer != nil {
			deps.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "switchboard_http_availability_streams", Help: "Availability event streams open."},
				func() float64 { return float64(all.held.Load()) }))
		}
		availabilityRoutes(&h.RouterGroup, deps.Snapshots, deps.Web)
		widgetRoutes(&h.RouterGroup)
		streamRoutes(&h.RouterGroup, deps.Snapshots, all, deps.Web)
		visitorRoutes(&h.RouterGroup, deps.Snapshots, deps.Web, codec)
	}
	// Calls are served where the ACD runs, with the web role or not.
	if deps.Calls != nil {
		callRoutes(acdRoutes, deps.Calls, deps.Web, codec, refusals)
	}
	if deps.Chats != nil {
		chatRoutes(acdRoutes, deps.Chats, deps.Web, codec)
	}
	if deps.Supervisors != nil {
		supervisorRoutes(acdRoutes, deps.Supervisors)
	}
	if deps.Callbacks != nil {
		callbackRoutes(acdRoutes, deps.Callbacks, deps.Web, codec, deps.CallbackLimits, refusals)
		if deps.Agents != nil {
			consoleRoutes(acdRoutes, deps.Agents, deps.Callbacks)
		}
	}
	openAPIRoutes(&h.RouterGroup)
	return &Server{h: h, addr: ln.Addr().String(), streams: all}, nil
}

// Addr returns the bound address.
func (s *Server) Addr() string { return s.addr }

// Run serves until Shutdown. The availability streams, which outlive
// their requests, end when it returns.
func (s *Server) Run() error {
	var wg sync.WaitGroup
	if s.streams != nil {
		wg.Go(s.streams.run)
	}
	err := s.h.Run()
	if s.streams != nil {
		s.streams.stop()
	}
	wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight, up to ctx;
// Run returns as it begins, ending the availability streams.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.h.Shutdown(ctx)
}
