package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/netlist"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/presence"
)

// Presence is what the PUBLISH and SUBSCRIBE handlers need of the presence domain.
type Presence interface {
	Publish(ctx context.Context, r presence.PublishRequest) (presence.Publication, error)
	Subscribe(ctx context.Context, r presence.SubscribeRequest) (presence.Subscription, bool, error)
	Subscription(id string) (presence.Subscription, bool)
	Refresh(ctx context.Context, id string, expires *time.Duration, dialog []byte) (presence.Subscription, error)
	Flush(id string) error
}

// Registrar is what the REGISTER handler needs of the location service.
type Registrar interface {
	Register(ctx context.Context, r location.Request) ([]location.Binding, error)
}

// udpBufferBytes sizes the UDP listener's socket buffers.
const udpBufferBytes = 4 << 20

// Server is one SIP endpoint: its listeners, the handlers of the roles
// this process runs, and the client that sends NOTIFYs.
type Server struct {
	cfg     Config
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	metrics *metrics
	auth    *authorizer
	tlsConf *tls.Config // WSS, and the client side of outgoing TLS
	// tlsListenConf is the TLS listener's: tlsConf, verifying client
	// certificates when tls_client_ca is set
	tlsListenConf *tls.Config
	trusted       []netip.Prefix // proxies whose Record-Route is followed
	flood         *flood
	admit         *admission
	// answered keeps what was answered over UDP for retransmissions
	answered *answered
	conns    *connLimiter
	peerLog  *slog.Logger // for what a request makes us log
	dialogs  dialogCache

	presence  Presence
	registrar Registrar
	locator   Locator
	chats     atomic.Pointer[calls.ChatInbox] // nil: no chats; set once the calls run
	legs      legs
	methods   []string // for Allow
	// contacts (by transport) and udpLaddr, the UDP listener's address,
	// are set by Start, before any request.
	contacts      map[string]sipmsg.Uri
	contactValues map[string]string // contacts as they go on the wire, by transport as dialogs spell it (UDP…)
	udpLaddr      sipmsg.Addr
	viaSentBy     string // host:port in the Via of requests udpClient sends

	mu        sync.Mutex
	addrs     map[string]string // transport -> bound address
	udp       *udpClient        // on the first UDP listener: NOTIFYs, answers sipgo will not send
	listeners []interface{ Close() error }
	serving   sync.WaitGroup

	started    atomic.Bool  // Start has set the client: requests may go out
	draining   atomic.Bool  // Drain was called: new requests get 503
	inflight   atomic.Int64 // requests being handled
	unanswered atomic.Int64 // of those, the ones without a final answer yet
}

// NewServer prepares a server; register roles with ServePresence and
// ServeRegistrar, then call Start.
func NewServer(cfg Config, reg prometheus.Registerer, log *slog.Logger, with ...Option) (*Server, error) {
	var o options
	for _, opt := range with {
		opt(&o)
	}
	opts := []sipgo.UserAgentOption{sipgo.WithUserAgent(cfg.userAgent())}
	tlsConf, tlsListenConf, err := cfg.serverTLS(o)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(tlsConf))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(PeerLogger(log)))
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	auth, err := newAuthorizer(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	trusted, err := netlist.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("sip: trusted_proxies%w", err)
	}
	flood, err := newFlood(cfg.Flood, trusted)
	if err != nil {
		return nil, fmt.Errorf("sip: flood.exempt%w", err)
	}
	s := &Server{
		cfg: cfg, log: log, ua: ua, srv: srv, auth: auth, tlsConf: tlsConf, tlsListenConf: tlsListenConf,
		trusted: trusted, flood: flood,
		admit:    newAdmission(cfg.Overload, time.Now()),
		answered: newAnswered(time.Now()),
		conns:    &connLimiter{cfg: cfg.Connections.withDefaults(), exempt: trusted, perAddr: map[netip.Addr]int{}},
		metrics:  newMetrics(reg),
		peerLog:  PeerLogger(log),
		addrs:    make(map[string]string),
		methods:  []string{"OPTIONS"},
	}
	s.conns.refused = func(limit string) { s.metrics.refused.WithLabelValues(limit).Inc() }
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "switchboard_sip_requests_in_hand",
				Help: "SIP requests being handled that have no final answer yet.",
			}, func() float64 { return float64(s.unanswered.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "switchboard_sip_admission_limit",
				Help: "Requests in hand past which new ones are refused with 503 (sip.overload; 0: off).",
			}, func() float64 { return float64(s.admit.Limit()) }))
	}
	srv.OnOptions(s.handle(s.onOptions))
	srv.OnNoRoute(s.handle(s.onNoRoute))
	return s, nil
}

// ServePresence answers PUBLISH and SUBSCRIBE with p.
func (s *Server) ServePresence(p Presence) {
	s.presence = p
	s.srv.OnPublish(s.handle(s.onPublish))
	s.srv.OnSubscribe(s.handle(s.onSubscribe))
	s.methods = append(s.methods, "PUBLISH", "SUBSCRIBE")
}

// ServeRegistrar answers REGISTER with r.
func (s *Server) ServeRegistrar(r Registrar) {
	s.registrar = r
	s.srv.OnRegister(s.handle(s.onRegister))
	s.methods = append(s.methods, "REGISTER")
}

// Start binds every configured listener and serves them in the background
// until Close. It fails, binding nothing, when any listener cannot bind.
func (s *Server) Start() error {
	type bind struct {
		network, addr string
	}
	binds := []bind{{"udp", s.cfg.UDP}, {"tcp", s.cfg.TCP}, {"tls", s.cfg.TLS}, {"ws", s.cfg.WS}, {"wss", s.cfg.WSS}}
	var serves []func()
	for _, b := range binds {
		if b.addr == "" {
			continue
		}
		serve, err := s.listen(b.network, b.addr)
		if err != nil {
			s.Close()
			return fmt.Errorf("sip: listen %s %s: %w", b.network, b.addr, err)
		}
		serves = append(serves, serve)
	}
	// Everything handlers read is set before the first request can arrive.
	if s.cfg.Host == "" {
		s.cfg.Host = s.contactHost()
	}
	client, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.cfg.Host), sipgo.WithClientLogger(PeerLogger(s.log)))
	if err != nil {
		s.Close()
		return fmt.Errorf("sip: %w", err)
	}
	s.client = client
	s.contacts, s.contactValues = map[string]sipmsg.Uri{}, map[string]string{}
	for _, t := range []string{"udp", "tcp", "tls", "ws", "wss"} {
		u := s.newContactURI(t)
		s.contacts[t], s.contactValues[strings.ToUpper(t)] = u, u.String()
	}
	if host, port, err := sipmsg.ParseAddr(s.Addr("udp")); err == nil {
		s.udpLaddr = sipmsg.Addr{IP: net.ParseIP(host), Port: port}
		s.viaSentBy = net.JoinHostPort(s.cfg.Host, strconv.Itoa(port))
	}
	s.started.Store(true)
	for _, serve := range serves {
		s.serving.Add(1)
		go serve()
	}
	return nil
}

// listen binds one listener and returns the function that serves it.
func (s *Server) listen(network, addr string) (func(), error) {
	var serve func() error
	var closer interface{ Close() error }
	var bound string
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, err
		}
		c := pc.(*net.UDPConn)
		// A NOTIFY fan-out brings a burst of answers at once: a default
		// socket buffer (208 KiB) drops them, and each drop costs a
		// retransmission (T1). The kernel caps this at net.core.rmem_max.
		// A request that waits in it too long is refused (OverloadConfig).
		c.SetReadBuffer(udpBufferBytes)
		c.SetWriteBuffer(udpBufferBytes)
		sc := newScreenedPacketConn(c, s.screen)
		closer, bound, serve = c, c.LocalAddr().String(), func() error { return s.srv.ServeUDP(sc) }
	default:
		raw, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		l := limitedListener{Listener: raw, lim: s.conns, upgrade: network == "ws" || network == "wss"}
		closer, bound = l, l.Addr().String()
		switch network {
		case "tcp":
			serve = func() error { return s.srv.ServeTCP(s.framed(l)) }
		case "ws":
			serve = func() error { return s.srv.ServeWS(l) }
		case "tls":
			tl := tls.NewListener(l, s.tlsListenConf)
			closer, serve = tl, func() error { return s.srv.ServeTLS(s.framed(tl)) }
		case "wss":
			tl := tls.NewListener(l, s.tlsConf)
			closer, serve = tl, func() error { return s.srv.ServeWSS(tl) }
		}
	}
	s.mu.Lock()
	s.addrs[network] = bound
	if c, ok := closer.(*net.UDPConn); ok && s.udp == nil {
		s.udp = newUDPClient(c)
	}
	s.listeners = append(s.listeners, closer)
	s.mu.Unlock()
	return func() {
		defer s.serving.Done()
		if err := serve(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("sip listener stopped", "network", network, "addr", bound, "error", err)
		}
	}, nil
}

// Addr returns the bound address of a transport ("udp", "tcp", "tls",
// "ws", "wss"), or "" when it is off.
func (s *Server) Addr(network string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[network]
}

// Host is the address other parties reach this server at (set by Start).
func (s *Server) Host() string { return s.cfg.Host }

// Close stops the listeners and the transaction layer.
func (s *Server) Close() error {
	s.mu.Lock()
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	s.serving.Wait()
	return s.ua.Close()
}

// Drain stops taking new requests (503 with Retry-After) and waits, up to
// ctx, for those being handled to be answered: a request whose effect is
// stored gets its answer before the listeners close. Close follows.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sip: %d requests still being handled: %w", s.inflight.Load(), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// errNoAnswer is returned for a transaction that ended without a final
// response and without an error, as sipgo's do when its layers close.
var errNoAnswer = errors.New("transaction ended without an answer")

// errNotStarted is returned for a request sent before Start: presence
// timers may fire while the stack is not listening yet.
var errNotStarted = errors.New("sip: not started")

// do sends req in a client transaction and returns its final response.
func (s *Server) do(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, error) {
	if !s.started.Load() {
		return nil, errNotStarted
	}
	res, err := s.client.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoAnswer
	}
	return res, err
}

// contactHost picks the host for our Contact headers when none is
// configured: the first listener's host, unless it is a wildcard address.
func (s *Server) contactHost() string {
	for _, n := range []string{"udp", "tcp", "tls", "ws", "wss"} {
		if a := s.Addr(n); a != "" {
			h, _, _ := net.SplitHostPort(a)
			if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
				return h
			}
			break
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return "127.0.0.1"
}

// contactURI is our Contact for dialogs created over transport, made
// once per transport at Start (every NOTIFY carries one).
func (s *Server) contactURI(transport string) sipmsg.Uri {
	t := strings.ToLower(transport)
	u, ok := s.contacts[t]
	if !ok {
		u = s.newContactURI(t)
	}
	if u.UriParams != nil {
		u.UriParams = u.UriParams.Clone() // the caller's to change
	}
	return u
}

// contactValue is contactURI(transport) as it goes on the wire; transport
// spelt as dialogs keep it (newSubDialog), so a NOTIFY finds it without
// changing case.
func (s *Server) contactValue(transport string) string {
	if v, ok := s.contactValues[transport]; ok {
		return v
	}
	u := s.contactURI(transport)
	return u.String()
}

func (s *Server) newContactURI(t string) sipmsg.Uri {
	u := sipmsg.Uri{Scheme: "sip", Host: s.cfg.Host}
	if a := s.Addr(t); a != "" {
		_, port, _ := net.SplitHostPort(a)
		u.Port, _ = strconv.Atoi(port)
	}
	if t != "udp" {
		u.UriParams = sipmsg.NewParams()
		u.UriParams.Add("transport", t)
	}
	return u
}

func (c Config) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return "Switchboard"
}
