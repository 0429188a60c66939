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
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%s.cert_file: %w", prefix, errors.New("cert_file and key_file go together"))
	}
	return nil
}
