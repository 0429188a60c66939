package tlscert

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
)

// Config is the tls section of the configuration.
type Config struct {
	// ACME obtains and renews the certificate of the HTTPS, SIP TLS and
	// WSS listeners that have no cert_file of their own.
	ACME ACMEConfig `yaml:"acme"`
}

// Challenge types (RFC 8555 §8.3, RFC 8737).
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// LetsEncrypt is the default directory: Let's Encrypt's production CA.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// DefaultRenewCheckInterval is how often certificates are checked for
// renewal (and OCSP staples for refresh) unless RenewCheckInterval says.
const DefaultRenewCheckInterval = 10 * time.Minute

// ACMEConfig obtains certificates from an ACME CA (RFC 8555).
type ACMEConfig struct {
	// Enabled turns ACME on; off, only cert_file settings give TLS.
	Enabled bool `yaml:"enabled"`
	// Domains are the names on the certificate (one certificate per
	// name); the first one is served to clients that send no SNI, as
	// most SIP phones do not. Each must resolve to this host.
	Domains []string `yaml:"domains"`
	// Email is the ACME account's contact, for the CA's expiry notices.
	Email string `yaml:"email"`
	// Directory is the CA's ACME directory URL.
	Directory string `yaml:"directory"`
	// DirectoryCA is a PEM bundle of the roots trusted for the
	// directory's own HTTPS (a private CA, Pebble); empty: the system's.
	DirectoryCA string `yaml:"directory_ca"`
	// Storage is where certificates, keys and the account are kept:
	// "store" (the bbolt file, bucket tls_files) or "dir:/some/path".
	Storage string `yaml:"storage"`
	// Challenges are the challenge types offered to the CA:
	// tls-alpn-01 is answered on the HTTPS listener (http.addr), which
	// the CA reaches on port 443 of each domain; http-01 on HTTPAddr,
	// which the CA reaches on port 80.
	Challenges []string `yaml:"challenges"`
	// HTTPAddr is where HTTP-01 challenges are answered ("host:port",
	// port 80 from outside); every other request there is redirected to
	// HTTPS. Empty: no such listener, and no HTTP-01.
	HTTPAddr string `yaml:"http_addr"`
	// RenewCheckInterval is how often certificates are checked for
	// renewal, by their remaining lifetime and the CA's renewal
	// information (ARI, RFC 9773). 0: DefaultRenewCheckInterval.
	RenewCheckInterval time.Duration `yaml:"renew_check_interval"`
}

// Validate names the first bad field under prefix (the tls section).
func (c Config) Validate(prefix string) error {
	return c.ACME.Validate(prefix + ".acme")
}

// Validate names the first bad field under prefix; off, nothing is checked.
func (c ACMEConfig) Validate(prefix string) error {
	if !c.Enabled {
		return nil
	}
	if len(c.Domains) == 0 {
		return fmt.Errorf("%s.domains: at least one domain is required", prefix)
	}
	for i, d := range c.Domains {
		if strings.Contains(d, "*") || net.ParseIP(d) != nil || !certmagic.SubjectQualifiesForCert(d) || !strings.Contains(d, ".") {
			return fmt.Errorf("%s.domains[%d]: %q is not a domain name (no wildcards, no addresses)", prefix, i, d)
		}
	}
	if c.Email != "" && !strings.Contains(c.Email, "@") {
		return fmt.Errorf("%s.email: %q is not an address", prefix, c.Email)
	}
	if u, err := url.Parse(c.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s.directory: %q is not an https:// URL", prefix, c.Directory)
	}
	if c.DirectoryCA != "" {
		if _, err := LoadPool(c.DirectoryCA); err != nil {
			return fmt.Errorf("%s.directory_ca: %w", prefix, err)
		}
	}
	if _, err := c.storageDir(); err != nil {
		return fmt.Errorf("%s.storage: %w", prefix, err)
	}
	if len(c.Challenges) == 0 {
		return fmt.Errorf("%s.challenges: at least one of %s, %s", prefix, ChallengeTLSALPN01, ChallengeHTTP01)
	}
	for i, ch := range c.Challenges {
		if ch != ChallengeTLSALPN01 && ch != ChallengeHTTP01 {
			return fmt.Errorf("%s.challenges[%d]: %q is not %s or %s", prefix, i, ch, ChallengeTLSALPN01, ChallengeHTTP01)
		}
	}
	if c.offers(ChallengeHTTP01) && c.HTTPAddr == "" {
		return fmt.Errorf("%s.http_addr: http-01 is answered there: set it (e.g. 0.0.0.0:80) or drop http-01 from challenges", prefix)
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("%s.http_addr: %q is not host:port", prefix, c.HTTPAddr)
		}
	}
	if c.RenewCheckInterval != 0 && (c.RenewCheckInterval < 100*time.Millisecond || c.RenewCheckInterval > 24*time.Hour) {
		return fmt.Errorf("%s.renew_check_interval: %s must lie between 100ms and 24h", prefix, c.RenewCheckInterval)
	}
	return nil
}

// offers reports whether challenge is among the configured ones.
func (c ACMEConfig) offers(challenge string) bool { return slices.Contains(c.Challenges, challenge) }

// OffersTLSALPN reports whether the HTTPS listener must answer TLS-ALPN-01.
func (c ACMEConfig) OffersTLSALPN() bool { return c.Enabled && c.offers(ChallengeTLSALPN01) }

// storageDir is the directory of a "dir:" storage, "" for the store.
func (c ACMEConfig) storageDir() (string, error) {
	if c.Storage == "store" {
		return "", nil
	}
	dir, ok := strings.CutPrefix(c.Storage, "dir:")
	if !ok || !filepath.IsAbs(dir) {
		return "", fmt.Errorf("%q is not store or dir:/an/absolute/path", c.Storage)
	}
	return dir, nil
}

// LoadPool reads a PEM bundle of certificates into a pool; it fails on a
// file that holds none.
func LoadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}
