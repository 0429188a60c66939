package tlscert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
)

// ErrNoCertificate is returned to a TLS handshake before Run has started
// managing the certificates, or for a name none of them covers when no
// domain is configured.
var ErrNoCertificate = errors.New("tlscert: no certificate yet")

// Manager obtains the certificate of every configured domain from the
// ACME CA, keeps it in storage, renews it and staples OCSP responses
// (where the CA has a responder), and serves it to every TLS listener
// through one GetCertificate: a renewed certificate reaches HTTPS, SIP TLS
// and WSS at once, without a restart.
type Manager struct {
	cfg     ACMEConfig
	log     *slog.Logger
	storage certmagic.Storage
	roots   *x509.CertPool // trusted for the directory; nil: the system's
	http01  net.Listener   // HTTP-01 and redirects to HTTPS; nil without http_addr
	magic   atomic.Pointer[certmagic.Config]
}

// New prepares the manager of cfg (enabled) and binds its HTTP-01
// listener; files is the store, used when cfg.Storage is "store". Serve
// TLSConfig or HTTPSConfig on the listeners, then call Run.
func New(cfg ACMEConfig, files Files, log *slog.Logger) (*Manager, error) {
	m := &Manager{cfg: cfg, log: log}
	switch dir, err := cfg.storageDir(); {
	case err != nil:
		return nil, fmt.Errorf("tlscert: storage: %w", err)
	case dir != "":
		m.storage = &certmagic.FileStorage{Path: dir}
	case files == nil:
		return nil, errors.New("tlscert: storage: no store to keep certificates in")
	default:
		m.storage = newFileStorage(files)
	}
	if cfg.DirectoryCA != "" {
		roots, err := LoadPool(cfg.DirectoryCA)
		if err != nil {
			return nil, fmt.Errorf("tlscert: directory_ca: %w", err)
		}
		m.roots = roots
	}
	if cfg.offers(ChallengeHTTP01) {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("tlscert: listen %s: %w", cfg.HTTPAddr, err)
		}
		m.http01 = ln
	}
	return m, nil
}

// HTTPAddr is the bound address of the HTTP-01 listener, "" without one.
func (m *Manager) HTTPAddr() string {
	if m.http01 == nil {
		return ""
	}
	return m.http01.Addr().String()
}

// TLSConfig serves the managed certificates on a listener that does not
// answer TLS-ALPN-01 (SIP TLS, WSS): it names no ALPN protocol, so a
// client's own ALPN list is ignored rather than refused.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12}
}

// HTTPSConfig serves the managed certificates over HTTP/1.1 and answers
// TLS-ALPN-01 challenges (RFC 8737 §3: the acme-tls/1 protocol) when
// they are offered.
func (m *Manager) HTTPSConfig() *tls.Config {
	c := m.TLSConfig()
	c.NextProtos = []string{"http/1.1"}
	if m.cfg.offers(ChallengeTLSALPN01) {
		c.NextProtos = append(c.NextProtos, acmez.ACMETLS1Protocol)
	}
	return c
}

// GetCertificate is the tls.Config hook every listener shares: the
// certificate for the client's SNI, or for the first domain without one.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	magic := m.magic.Load()
	if magic == nil {
		return nil, ErrNoCertificate
	}
	return magic.GetCertificate(hello)
}

// Run manages the certificates until ctx ends: those in storage are
// served at once, missing or expiring ones are obtained in the
// background, and every renew_check_interval they are checked again.
// httpsAddr is the bound address of the HTTPS listener that answers
// TLS-ALPN-01 (ignored when that challenge is off). Run returns once its
// HTTP-01 listener is closed and maintenance has stopped.
func (m *Manager) Run(ctx context.Context, httpsAddr string) error {
	zl := zapLogger(m.log.With("component", "certmagic"))
	interval := m.cfg.RenewCheckInterval
	if interval == 0 {
		interval = DefaultRenewCheckInterval
	}
	var magic *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		RenewCheckInterval: interval,
		Logger:             zl,
	})
	defer cache.Stop()
	magic = certmagic.New(cache, certmagic.Config{
		Storage:            m.storage,
		DefaultServerName:  m.cfg.Domains[0], // for clients without SNI: most SIP phones
		FallbackServerName: m.cfg.Domains[0], // for a name we have no certificate for
		OnEvent:            m.onEvent,
		Logger:             zl,
	})
	iss := certmagic.NewACMEIssuer(magic, certmagic.ACMEIssuer{
		CA:                      m.cfg.Directory,
		Email:                   m.cfg.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    !m.cfg.offers(ChallengeHTTP01),
		DisableTLSALPNChallenge: !m.cfg.offers(ChallengeTLSALPN01),
		// Our own listeners answer the challenges: certmagic finds their
		// ports taken and leaves them to us instead of binding 80 or 443.
		AltHTTPPort:    portOf(m.HTTPAddr()),
		AltTLSALPNPort: portOf(httpsAddr),
		TrustedRoots:   m.roots,
		Logger:         zl,
	})
	magic.Issuers = []certmagic.Issuer{iss}
	m.magic.Store(magic)

	var served chan error
	var srv *http.Server
	if m.http01 != nil {
		srv = &http.Server{Handler: challengeHandler(iss, httpsAddr), ReadHeaderTimeout: 10 * time.Second}
		served = make(chan error, 1)
		go func() { served <- srv.Serve(m.http01) }()
	}
	err := magic.ManageAsync(ctx, m.cfg.Domains)
	if err != nil {
		err = fmt.Errorf("tlscert: %w", err)
	} else {
		<-ctx.Done()
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		cancel()
		<-served
	}
	return err
}

// challengeHandler answers HTTP-01 challenges (RFC 8555 §8.3) and
// redirects every other request to HTTPS.
func challengeHandler(iss *certmagic.ACMEIssuer, httpsAddr string) http.Handler {
	port := portOf(httpsAddr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if iss.HandleHTTPChallenge(w, r) {
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != 0 && port != 443 {
			host = net.JoinHostPort(host, strconv.Itoa(port))
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// onEvent logs what became of each certificate.
func (m *Manager) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		m.log.Info("certificate obtained", "domain", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
	case "cert_failed":
		m.log.Warn("certificate not obtained", "domain", data["identifier"], "renewal", data["renewal"], "error", data["error"])
	case "cert_ocsp_revoked":
		m.log.Error("certificate revoked (OCSP): replacing it", "domains", data["subjects"])
	}
	return nil
}

// portOf is the port of a host:port address, 0 when it has none.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
