package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/httpapi"
	"github.com/switchboard/switchboard/internal/refused"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip"
	"github.com/switchboard/switchboard/store"
	"github.com/switchboard/switchboard/store/natsstore"
	"github.com/switchboard/switchboard/tlscert"
)

// stopTimeout bounds each step of the drain that waits for requests in
// flight (HTTP, then SIP).
const stopTimeout = 10 * time.Second

// serve wires the configured roles together and runs them until ctx ends
// (the first signal), then drains (drain). The components run on a
// context of their own, ended only once live calls are over, so that
// nothing stops under a call or a request still being answered.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	// Libraries with package-level loggers: set once, here.
	sipmsg.SetDefaultLogger(sip.PeerLogger(log.With("component", "sipgo")))
	hlog.SetLevel(hlog.LevelWarn)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	db, err := store.Open(cfg.Store.Config)
	if err != nil {
		return err
	}
	defer db.Close()
	reg.MustRegister(db.Collectors()...)
	ps, err := openSharedStore(ctx, cfg.Store, cfg.Cluster, db, log)
	if err != nil {
		return err
	}
	defer ps.close()
	if ps.nats != nil {
		registerClusterMetrics(reg, ps.nats)
	}

	// ACME certificates: one manager for the HTTPS, SIP TLS and WSS
	// listeners; it starts obtaining them once the listeners are up.
	var certs *tlscert.Manager
	var sipOpts []sip.Option
	if cfg.TLS.ACME.Enabled {
		if certs, err = tlscert.New(cfg.TLS.ACME, db, log.With("component", "acme")); err != nil {
			return fmt.Errorf("tls.acme: %w", err)
		}
		sipOpts = append(sipOpts, sip.WithCertificates(certs.GetCertificate))
	}
	sipSrv, err := sip.NewServer(cfg.SIP, reg, log, sipOpts...)
	if err != nil {
		return err
	}
	var pres *presence.Service
	var loc *location.Service
	var feed *acdFeed
	clusterLost := make(chan error, 2)
	var role *acdRole
	if cfg.runs("presence") || cfg.runs("acd") {
		if pres, loc, feed, err = startPresence(runCtx, cfg, ps, sipSrv, reg, log); err != nil {
			return err
		}
		defer pres.Close()
		// The other nodes' publications and bindings, and dead nodes'
		// subscriptions, until pres closes; should this process have to
		// stop serving them, it stops.
		followCtx, stopFollowing := context.WithCancel(runCtx)
		followed := make(chan struct{})
		go func() {
			defer close(followed)
			if err := ps.run(followCtx, pres, loc); err != nil {
				clusterLost <- err
			}
		}()
		defer func() { stopFollowing(); <-followed }()
	}
	var watcher *sip.Watcher
	if cfg.runs("web") && !cfg.runs("presence") {
		if watcher, err = sip.NewWatcher(sipSrv, cfg.Web.PresenceServer, cfg.Web.Username, cfg.Web.Password,
			groupURIs(cfg.ACD)); err != nil {
			return fmt.Errorf("web.presence_server: %w", err)
		}
		sipSrv.ServeWatcher(watcher)
	}
	if err := sipSrv.Start(); err != nil {
		return err
	}
	defer sipSrv.Close()

	var background sync.WaitGroup
	defer background.Wait()
	if feed != nil {
		target := cfg.ACD.PresenceServer
		switch {
		case target != "":
		case sipSrv.Addr("tcp") != "": // this process's presence role, over SIP all the same
			target = "sip:" + loopbackOf(sipSrv.Addr("tcp")) + ";transport=tcp"
		default:
			target = "sip:" + loopbackOf(sipSrv.Addr("udp"))
		}
		pub, err := sip.NewPublisher(sipSrv, target, cfg.ACD.Username, cfg.ACD.Password,
			max(time.Minute, 3*cfg.ACD.PublishInterval))
		if err != nil {
			return fmt.Errorf("acd.presence_server: %w", err)
		}
		feed.agents.SetPublisher(pub)
		mgr, phones, err := startCalls(cfg, ps, feed.agents, sipSrv, reg, log)
		if err != nil {
			return err
		}
		role = &acdRole{feed: feed, loc: loc, pres: pres, mgr: mgr, phones: phones, log: log}
		registerLeaderMetric(reg, role)
	}

	var draining atomic.Bool
	ready := func() error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}
	deps := httpapi.Deps{Registerer: reg, Ready: ready, Web: cfg.Web}
	if certs != nil {
		deps.TLS = certs.HTTPSConfig()
	}
	if cfg.runs("web") || role != nil { // both read visitor cookies
		if deps.CookieKey, err = hex.DecodeString(cfg.Web.CookieKey); cfg.Web.CookieKey == "" {
			deps.CookieKey, err = ps.secrets.Secret(ctx, "web.cookie_key", 32)
		}
		if err != nil {
			return fmt.Errorf("web.cookie_key: %w", err)
		}
	}
	if role != nil {
		deps.Agents = feed.agents
		deps.Supervisors = feed.agents
		deps.Calls = role.mgr
		deps.Chats = role.mgr
		deps.Softphones = role.phones
		deps.AgentCalls = role.mgr
		if ps.nats != nil {
			deps.Standby = role.standby
		}
		if cfg.Callbacks.Enabled {
			deps.Callbacks = role.mgr
			deps.CallbackLimits = httpapi.RateLimits{PerVisitor: cfg.Callbacks.PerVisitor, PerIP: cfg.Callbacks.PerIP,
				Window: cfg.Callbacks.RateWindow}
		}
	}
	if cfg.runs("web") {
		documents := func(uri string) ([]byte, bool) { return pres.Document(uri) }
		if watcher != nil {
			documents = watcher.Document
			background.Add(1)
			go func() { defer background.Done(); watcher.Run(runCtx) }()
		}
		if deps.Snapshots, err = httpapi.NewSnapshots(groupSource(cfg.ACD, documents), cfg.Web.RefreshInterval); err != nil {
			return err
		}
		background.Add(1)
		go func() { defer background.Done(); deps.Snapshots.Run(runCtx) }()
	}
	web, err := httpapi.New(cfg.HTTP, deps, log)
	if err != nil {
		return err
	}
	admin := adminFor(db, log)
	metrics, err := httpapi.NewMetrics(cfg.Metrics, reg, admin)
	if err != nil {
		return err
	}
	defer metrics.Shutdown(context.Background())
	if err := db.Advertise("http://"+loopbackOf(metrics.Addr()), admin.Token); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if cfg.Store.Retention > 0 {
		background.Go(func() { sweepRetention(runCtx, db, cfg.Store.Retention, reg, log) })
	}
	// The ACD runs last, once everything it uses serves: on this node
	// alone, or on the cluster's leader.
	switch {
	case role == nil:
	case ps.nats == nil:
		if err := role.start(runCtx, &background); err != nil {
			stopRun() // what start began ends before the deferred waits
			return err
		}
	default:
		e := ps.nats.Election(natsstore.LeaderACD, reachableAt(web.Addr(), sipSrv.Host()))
		background.Go(func() {
			if err := role.campaign(runCtx, e, &background); err != nil {
				clusterLost <- err
			}
		})
	}
	httpDone := make(chan error, 2)
	go func() { httpDone <- web.Run() }()
	go func() { httpDone <- metrics.Run() }()
	if certs != nil { // TLS-ALPN-01 is answered on the HTTPS listener, now bound
		background.Go(func() {
			if err := certs.Run(runCtx, web.Addr()); err != nil {
				log.Error("acme stopped", "error", err)
			}
		})
	}

	v, c, _ := buildInfo()
	log.Info("switchboard started", "version", v, "commit", c, "roles", cfg.Roles,
		"sip_udp", sipSrv.Addr("udp"), "sip_tcp", sipSrv.Addr("tcp"), "sip_ws", sipSrv.Addr("ws"),
		"sip_tls", sipSrv.Addr("tls"), "sip_wss", sipSrv.Addr("wss"),
		"http", web.Addr(), "metrics", metrics.Addr(), "store", cfg.Store.Path, "presence_store", cfg.Store.Driver, "acme_http", acmeHTTP(certs))
	notifyReady(ctx, log, "serving "+strings.Join(cfg.Roles, ", "))

	select {
	case <-ctx.Done():
	case err := <-httpDone:
		return err
	case err := <-clusterLost:
		stopRun() // before the deferred waits: calls end, then the components
		return fmt.Errorf("store.nats: %w", err)
	}
	draining.Store(true)
	notifyStopping()
	var mgr *calls.Manager
	if role != nil {
		mgr = role.mgr
	}
	return drain(cfg.Shutdown, log, web, mgr, sipSrv, func() { stopRun(); background.Wait() })
}

// drain is the first signal's graceful stop, each step bounded:
//  1. /readyz answers 503 (already) while everything serves for
//     shutdown.grace, so that load balancers stop sending;
//  2. HTTP stops accepting and finishes its requests;
//  3. live calls may end by themselves within shutdown.calls_timeout
//     (SIP keeps serving their BYEs and re-INVITEs);
//  4. the components stop (stop): calls still up end with "shutdown";
//  5. SIP answers new requests 503 and finishes those being handled, so
//     that nothing stored goes unanswered; the deferred closes follow.
func drain(cfg ShutdownConfig, log *slog.Logger, web *httpapi.Server, mgr *calls.Manager, sipSrv *sip.Server, stop func()) error {
	log.Info("draining", "grace", cfg.Grace, "calls_timeout", cfg.CallsTimeout)
	time.Sleep(cfg.Grace) // serving meanwhile; a second signal exits at once (main)
	hctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	err := web.Shutdown(hctx)
	cancel()
	if err != nil {
		log.Warn("http shutdown", "error", err)
	}
	if mgr != nil {
		deadline := time.Now().Add(cfg.CallsTimeout)
		for n := mgr.Stats().Active; n > 0 && time.Now().Before(deadline); n = mgr.Stats().Active {
			time.Sleep(100 * time.Millisecond)
		}
	}
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := sipSrv.Drain(sctx); err != nil {
		log.Warn("sip drain", "error", err)
	}
	log.Info("drained")
	return nil
}

// startPresence loads the presence service and the registrar and has the
// SIP server answer PUBLISH, SUBSCRIBE and REGISTER with them. Agents
// REGISTER and PUBLISH to the ACD, so the ACD role runs them too (the same
// ones when the presence role runs in this process); the feed returned,
// when that role runs, holds the ACD, built but not started (acdRole),
// and hands it the agents' registrations and presence once it runs.
func startPresence(ctx context.Context, cfg Config, ps *sharedStore, sipSrv *sip.Server,
	reg prometheus.Registerer, log *slog.Logger) (*presence.Service, *location.Service, *acdFeed, error) {
	svc := presence.New(cfg.Presence, ps.Store, sipSrv, log)
	regCfg := cfg.Registrar
	regCfg.Domains = cfg.Presence.Domains
	loc := location.New(regCfg, ps.bindings)
	var feed *acdFeed
	if cfg.runs("acd") {
		agents, err := acd.New(cfg.ACD, nil, ps.agents, log)
		if err != nil {
			return nil, nil, nil, err
		}
		feed = &acdFeed{ctx: ctx, agents: agents}
		svc.Observe(agents.IsAgent, feed.presence)
		loc.Observe(feed.registered)
		reg.MustRegister(acdCollector{agents})
	}
	if err := svc.Load(ctx); err != nil {
		return nil, nil, nil, err
	}
	registerPresenceMetrics(reg, svc)
	sipSrv.ServePresence(svc)
	if err := loc.Load(ctx); err != nil {
		svc.Close()
		return nil, nil, nil, err
	}
	sipSrv.ServeRegistrar(loc)
	if feed != nil {
		sipSrv.ServeCalls(loc)
	}
	return svc, loc, feed, nil
}

// startCalls builds the visitors' calls, to be run by the ACD (acdRole):
// media on the SIP host's address, agents' legs placed in their browser
// softphone when one is connected (a device for the ACD, like a
// registration), else by the SIP server at the registrar's contacts.
func startCalls(cfg Config, ps *sharedStore, agents *acd.Service, sipSrv *sip.Server,
	reg prometheus.Registerer, log *slog.Logger) (*calls.Manager, *media.Softphones, error) {
	engine, err := media.NewEngine(cfg.Media, sipSrv.Host(), log)
	if err != nil {
		return nil, nil, err
	}
	devices := context.Background() // a softphone closed at shutdown is still recorded
	phones := media.NewSoftphones(engine, func(agent string, live bool) { agents.SetSoftphone(devices, agent, live) })
	devs := calls.Devices{Softphones: phones, Phones: sipSrv}
	mgr := calls.NewManager(cfg.Calls, agents, engine, devs, newCallObserver(reg), log)
	mgr.EnableChats(devs)
	sipSrv.ServeChats(mgr)
	phones.ServeChats(mgr)
	if cfg.Callbacks.Enabled {
		refusals := refused.Counter(reg)
		mgr.EnableCallbacks(cfg.Callbacks, ps.callbacks, engine, sipSrv.NewTrunk(cfg.Trunk),
			func(limit string) { refusals.WithLabelValues(limit).Inc() })
	}
	registerCallMetrics(reg, mgr, engine)
	return mgr, phones, nil
}

// acmeHTTP is the address of ACME's HTTP-01 listener, "" without one.
func acmeHTTP(certs *tlscert.Manager) string {
	if certs == nil {
		return ""
	}
	return certs.HTTPAddr()
}

// loopbackOf turns a listener address into one this process can send to:
// a wildcard host becomes 127.0.0.1.
func loopbackOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// groupURIs lists the presentities of the configured groups.
func groupURIs(cfg acd.Config) []string {
	uris := make([]string, len(cfg.Groups))
	for i, g := range cfg.Groups {
		uris[i] = "sip:" + g.ID + "@" + cfg.Domain
	}
	return uris
}

// groupSource reads every configured group's availability from the
// documents of its presentity, as the ACD published them over SIP: from
// the presence service in this process, or as a watcher of a remote one.
// A group nobody has published yet reads closed.
func groupSource(cfg acd.Config, documents func(uri string) ([]byte, bool)) httpapi.GroupSource {
	return func() []acd.GroupStatus {
		out := make([]acd.GroupStatus, 0, len(cfg.Groups))
		for _, g := range cfg.Groups {
			uri := "sip:" + g.ID + "@" + cfg.Domain
			doc, _ := documents(uri)
			st, ok := acd.ParseGroupDocument(uri, doc)
			if !ok {
				st = acd.GroupStatus{ID: g.ID, Name: g.Name, Skill: g.Skill, Open: true}
			}
			out = append(out, st)
		}
		return out
	}
}
