package natsstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The buckets. Their streams are KV_<bucket>.
const (
	bucketPublications  = "switchboard_publications"
	bucketSubscriptions = "switchboard_subscriptions"
	bucketNodes         = "switchboard_nodes"
)

// markerTTL is how long the markers of removed publications stay in the
// bucket: a node whose watch was cut for longer misses those removals,
// and drops the publications when they lapse by its own clock.
const markerTTL = 15 * time.Minute

// Store keeps presence state in JetStream KV buckets.
type Store struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	pubs  jetstream.KeyValue
	subs  jetstream.KeyValue
	nodes jetstream.KeyValue
	self  member // this process
	owner string // self.Owner encoded: a key token, the prefix of its subscriptions
	log   *slog.Logger

	writeTimeout time.Duration // of each write (writing)

	stopHold func()     // ends the holding of this process's lease, which releases it
	held     chan error // its result, once it ends (keep)
	stats    counters   // for metrics

	loadedAt uint64 // the publications stream's last sequence when LoadPublications began
	echoes   echoes

	recs records // the other domains' (records.go)
}

// Open connects, creates the buckets or brings their settings up to cfg,
// and joins: it holds this process's lease and is listed as a member
// (takeover.go) until Close. takeover bounds how long the subscriptions
// of a process that died go without NOTIFYs before another takes them
// over (the cluster.takeover setting, at least MinTakeover; zero is
// DefaultTakeover): a lease lapses after half of it, and the others look
// for lapsed leases every sixth. It returns when the servers answered;
// a cluster that cannot place the buckets yet (just started, a server
// short) is given up to openPatience.
func Open(ctx context.Context, cfg Config, takeover time.Duration, log *slog.Logger) (*Store, error) {
	node, nc, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	self := newMember(node, takeover)
	s := &Store{nc: nc, self: self, owner: encode(self.Owner), log: log, echoes: echoes{n: map[string]int{}},
		writeTimeout: cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)}
	if err := s.patiently(ctx, func(ctx context.Context) error { return s.buckets(ctx, cfg) }); err != nil {
		nc.Close()
		return nil, err
	}
	if err := s.join(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

// openPatience is how long Open waits for a cluster that cannot place a
// bucket yet: just started (its servers do not all know each other as
// online), or one server short of the replicas.
const openPatience = 30 * time.Second

// patiently runs f, each try bounded by attemptTimeout (a request lost
// with a server that died goes unanswered), until it succeeds, fails for
// good, or openPatience has passed since the first try.
func (s *Store) patiently(ctx context.Context, f func(context.Context) error) error {
	deadline := time.Now().Add(openPatience)
	for {
		try, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(try)
		cancel()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		s.log.Warn("JetStream is not ready; trying again", "error", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// attemptTimeout bounds one try of patiently.
const attemptTimeout = 5 * time.Second

// transient reports whether err may go by itself: no servers to place
// replicas on (10005), JetStream unavailable (10008), no answer yet.
func transient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == 10005 || apiErr.ErrorCode == 10008
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// connect connects to the servers of cfg as node (default: the host name).
func connect(cfg Config) (node string, nc *nats.Conn, err error) {
	node = cfg.Node
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return "", nil, fmt.Errorf("store.nats.node: %w", err)
		}
	}
	opts := []nats.Option{nats.Name("switchboard " + node), nats.MaxReconnects(-1)}
	if cfg.CredentialsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredentialsFile))
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	if nc, err = nats.Connect(strings.Join(cfg.URLs, ","), opts...); err != nil {
		return "", nil, fmt.Errorf("connect to nats: %w", err)
	}
	return node, nc, nil
}

// buckets creates or updates the buckets.
func (s *Store) buckets(ctx context.Context, cfg Config) error {
	replicas := cfg.Replicas
	js, err := jetstream.New(s.nc)
	if err != nil {
		return err
	}
	s.js = js
	s.pubs, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucketPublications, Description: "Switchboard presence publications",
		History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
		LimitMarkerTTL: markerTTL, // per-key TTL: the server expires publications
	})
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucketPublications, err)
	}
	s.subs, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucketSubscriptions, Description: "Switchboard presence subscriptions",
		History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
		LimitMarkerTTL: markerTTL, // removal markers lapse (PurgeTTL)
	})
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucketSubscriptions, err)
	}
	s.nodes, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucketNodes, Description: "Switchboard nodes: leases, members, claims",
		History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
		LimitMarkerTTL: markerTTL, // per-key TTL: leases lapse when their holder dies
	})
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucketNodes, err)
	}
	return s.recordBuckets(ctx, cfg)
}

// Close releases this process's lease, so that the other nodes take its
// subscriptions over at once, and drains the connection: writes in flight
// finish first.
func (s *Store) Close() error {
	s.stopHold()
	if err := <-s.held; err != nil {
		s.log.Warn("leaving the cluster", "error", err)
	}
	return s.nc.Drain()
}

// writing bounds one write by store.nats.write_timeout, so that a client
// waits at most that long while a stream has no leader (a Raft election,
// up to some 9 s) rather than until its request's own deadline, and done
// counts the writes that ran out of it.
func (s *Store) writing(ctx context.Context) (_ context.Context, done func(error)) {
	ctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	return ctx, func(err error) {
		if errors.Is(err, context.DeadlineExceeded) {
			s.stats.writeTimeouts.Add(1)
		}
		cancel()
	}
}

// encode makes s a KV key token: base64url without padding, whose
// alphabet ([-_a-zA-Z0-9]) KV keys allow, unlike SIP URIs' ':' and '@'.
func encode(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decode(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

// echoes counts the writes this process made and its own watch has not
// reported yet, so that the watch skips them: the service applied them
// when it made them.
type echoes struct {
	mu sync.Mutex
	n  map[string]int // by op ("put", "del") and key
}

func (e *echoes) expect(op, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n[op+" "+key]++
}

// forget undoes expect for a write that failed.
func (e *echoes) forget(op, key string) { e.take(op, key) }

// take reports whether op on key was expected, and forgets it.
func (e *echoes) take(op, key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := op + " " + key
	if e.n[k] == 0 {
		return false
	}
	if e.n[k]--; e.n[k] == 0 {
		delete(e.n, k)
	}
	return true
}

// errBadKey is a key this package did not write.
var errBadKey = errors.New("not a key of ours")
