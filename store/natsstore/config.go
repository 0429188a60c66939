package natsstore

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config connects to a NATS JetStream cluster (the store.nats settings).
type Config struct {
	// URLs of the NATS servers, nats://host:4222 or tls://host:4222; the
	// client moves to another one when its server goes.
	URLs []string `yaml:"urls"`
	// Replicas of each bucket (1..5): 3 on a cluster, so that a write is
	// acknowledged once a quorum of two servers has it.
	Replicas int `yaml:"replicas"`
	// Node names this process among those sharing the buckets (default:
	// the host name); its subscriptions are stored under it. Two
	// processes must not share one.
	Node string `yaml:"node"`
	// WriteTimeout bounds each write: a request whose write a stream does
	// not acknowledge within it (no leader, during a Raft election) is
	// answered with an error (SIP: 500 with Retry-After) rather than left
	// waiting. Such a write may still have been stored.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// CredentialsFile is a NATS .creds file (user JWT and nkey seed);
	// empty connects without credentials.
	CredentialsFile string `yaml:"credentials_file"`
	// CAFile verifies the servers' certificates (tls:// URLs) instead
	// of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate, for servers that
	// ask for one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Retention is how long agent transitions are kept (store.retention;
	// zero: for ever).
	Retention time.Duration `yaml:"-"`
}

// DefaultReplicas suits a single server; a cluster wants 3.
const DefaultReplicas = 1

// DefaultWriteTimeout is Config.WriteTimeout when zero.
const DefaultWriteTimeout = 5 * time.Second

// DefaultTakeover is Open's takeover when given none; MinTakeover its
// least, since leases lapse in whole seconds.
const (
	DefaultTakeover = 30 * time.Second
	MinTakeover     = 2 * time.Second
)

// Validate names the first bad field under prefix.
func (c Config) Validate(prefix string) error {
	if len(c.URLs) == 0 {
		return fmt.Errorf("%s.urls: at least one nats:// URL is required", prefix)
	}
	for i, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls") {
			return fmt.Errorf("%s.urls[%d]: %q is not a nats:// or tls:// URL", prefix, i, u)
		}
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("%s.replicas: %d must lie between 1 and 5", prefix, c.Replicas)
	}
	if c.WriteTimeout < 100*time.Millisecond || c.WriteTimeout > 30*time.Second {
		return fmt.Errorf("%s.write_timeout: %s must lie between 100ms and 30s", prefix, c.WriteTimeout)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%s.cert_file: %w", prefix, errors.New("cert_file and key_file go together"))
	}
	return nil
}
