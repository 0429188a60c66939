package sip

import (
	"errors"
	"fmt"
	"net"

	"github.com/switchboard/switchboard/internal/netlist"
	"github.com/switchboard/switchboard/sip/digestauth"
	"github.com/switchboard/switchboard/tlscert"
)

// Config chooses the SIP listeners and who may use them.
type Config struct {
	// UDP, TCP, TLS, WS and WSS are listen addresses ("host:port"); empty
	// switches that transport off. TLS and WSS also need CertFile and KeyFile.
	UDP string `yaml:"udp"`
	TCP string `yaml:"tcp"`
	TLS string `yaml:"tls"`
	WS  string `yaml:"ws"`
	WSS string `yaml:"wss"`
	// CertFile and KeyFile are the PEM certificate chain and key for TLS
	// and WSS; empty, they serve the certificate ACME obtains (tls.acme).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// TLSClientCA is a PEM bundle of CA certificates: when set, a client
	// of the TLS listener must present a certificate one of them signed
	// (trunks, trusted proxies), or its handshake fails. WSS (browsers)
	// is not affected.
	TLSClientCA string `yaml:"tls_client_ca"`
	// Host is the address other parties reach us at, used in Contact
	// headers; empty means the host of the first listener.
	Host string `yaml:"host"`
	// UserAgent names us in User-Agent and Server headers.
	UserAgent string `yaml:"user_agent"`
	// TrustedProxies are the addresses (IPs or CIDRs) of proxies in front
	// (Kamailio): only a SUBSCRIBE from them has its Record-Route
	// followed, and only a REGISTER from them has its Path kept (calls
	// and MESSAGEs to the phone then go through the Path). From anyone
	// else, NOTIFYs go back where the SUBSCRIBE came from, whatever
	// Record-Route or Contact it names, and a Path is ignored, so that
	// nobody can turn the server's requests on a third host.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Flood admits requests per source address (rate, burst, exempt).
	Flood FloodConfig `yaml:"flood"`
	// Connections bounds the TCP, TLS and WebSocket connections.
	Connections ConnConfig `yaml:"connections"`
	// Overload admits requests while the server answers them in time
	// (max_in_flight, target, interval, retry_after).
	Overload OverloadConfig `yaml:"overload"`
	// Auth controls digest authentication.
	Auth AuthConfig `yaml:"auth"`
}

// AuthConfig controls digest authentication of REGISTER, PUBLISH and SUBSCRIBE.
type AuthConfig struct {
	// Enabled turns challenges on; when off, every request is accepted
	// unauthenticated (for load tests and closed networks only).
	Enabled bool `yaml:"enabled"`
	// Digest sets the realm, nonce lifetime and algorithms offered.
	Digest digestauth.Config `yaml:",inline"`
	// Users are the accounts, by name, with their passwords.
	Users []User `yaml:"users"`
	// Trusted are user names that may publish any presentity (the ACD).
	Trusted []string `yaml:"trusted"`
	// Guard backs off wrong passwords (max_failures, max_failures_per_source,
	// failure_window, lockout).
	Guard GuardConfig `yaml:",inline"`
}

// User is one account.
type User struct {
	Name     string `yaml:"name"`
	Password string `yaml:"password"`
	// Algorithms, when set, replaces auth.algorithms for this user's
	// challenges, e.g. [SHA-256] for a phone that handles it (RFC 8760).
	Algorithms []string `yaml:"algorithms"`
}

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	listeners := []struct{ name, addr string }{
		{"udp", c.UDP}, {"tcp", c.TCP}, {"tls", c.TLS}, {"ws", c.WS}, {"wss", c.WSS},
	}
	any := false
	for _, l := range listeners {
		if l.addr == "" {
			continue
		}
		any = true
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			return fmt.Errorf("%s.%s: %q is not host:port", prefix, l.name, l.addr)
		}
	}
	if !any {
		return errors.New(prefix + ": at least one of udp, tcp, tls, ws, wss must be set")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%s.cert_file: cert_file and key_file go together", prefix)
	}
	if c.TLSClientCA != "" {
		if c.TLS == "" {
			return fmt.Errorf("%s.tls_client_ca: only the tls listener verifies client certificates, and it is off", prefix)
		}
		if _, err := tlscert.LoadPool(c.TLSClientCA); err != nil {
			return fmt.Errorf("%s.tls_client_ca: %w", prefix, err)
		}
	}
	if _, err := netlist.Parse(c.TrustedProxies); err != nil {
		return fmt.Errorf("%s.trusted_proxies%w", prefix, err)
	}
	if _, err := netlist.Parse(c.Flood.Exempt); err != nil {
		return fmt.Errorf("%s.flood.exempt%w", prefix, err)
	}
	if c.Flood.Rate < 0 || c.Flood.Burst < 0 {
		return fmt.Errorf("%s.flood.rate, burst: must not be negative", prefix)
	}
	if err := c.Overload.Validate(prefix + ".overload"); err != nil {
		return err
	}
	if !c.Auth.Enabled {
		return nil
	}
	if err := c.Auth.Digest.Validate(); err != nil {
		return fmt.Errorf("%s.%w", prefix, err) // its messages start "auth."
	}
	seen := map[string]bool{}
	for i, u := range c.Auth.Users {
		switch {
		case u.Name == "":
			return fmt.Errorf("%s.auth.users[%d].name: must not be empty", prefix, i)
		case u.Password == "":
			return fmt.Errorf("%s.auth.users[%d].password: must not be empty", prefix, i)
		case seen[u.Name]:
			return fmt.Errorf("%s.auth.users[%d].name: %q appears twice", prefix, i, u.Name)
		}
		if _, err := digestauth.CanonicalAlgorithms(u.Algorithms); err != nil {
			return fmt.Errorf("%s.auth.users[%d].algorithms: %w", prefix, i, err)
		}
		seen[u.Name] = true
	}
	for i, t := range c.Auth.Trusted {
		if !seen[t] {
			return fmt.Errorf("%s.auth.trusted[%d]: %q is not among auth.users", prefix, i, t)
		}
	}
	return nil
}
