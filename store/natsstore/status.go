package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Status is what JetStream says of the cluster: its members, from the
// nodes bucket, and the replication of every Switchboard bucket.
type Status struct {
	Members []MemberStatus
	// Leaders names the node holding each "leader.<role>" lease.
	Leaders map[string]string
	Buckets []BucketStatus
}

// MemberStatus is one process that joined.
type MemberStatus struct {
	Node, Owner string
	Started     time.Time
	// Live: its lease is held. A member that is not live died; its
	// subscriptions are taken over, by ClaimedBy when being taken now.
	Live      bool
	ClaimedBy string
}

// BucketStatus is one bucket's stream, or a stream of Switchboard's own,
// and its replicas.
type BucketStatus struct {
	Bucket        string
	Values, Bytes uint64
	Leader        string // the server leading its Raft group ("" on a single server)
	Replicas      []ReplicaStatus
}

// ReplicaStatus is one follower of a bucket's stream.
type ReplicaStatus struct {
	Server  string
	Current bool          // caught up with the leader
	Offline bool          // not heard from
	Lag     uint64        // operations behind the leader
	Active  time.Duration // since last heard from
}

// Inspect connects to the servers of cfg, without joining, and reports
// the cluster's status.
func Inspect(ctx context.Context, cfg Config) (Status, error) {
	_, nc, err := connect(cfg)
	if err != nil {
		return Status{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Status{}, err
	}
	nodes, err := js.KeyValue(ctx, bucketNodes)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return Status{}, fmt.Errorf("no switchboard node has used these servers yet (no bucket %s)", bucketNodes)
	}
	if err != nil {
		return Status{}, err
	}
	return inspect(ctx, js, nodes)
}

// Buckets reports the replication of every Switchboard bucket.
func (s *Store) Buckets(ctx context.Context) ([]BucketStatus, error) { return buckets(ctx, s.js) }

func inspect(ctx context.Context, js jetstream.JetStream, nodes jetstream.KeyValue) (Status, error) {
	st, err := members(ctx, nodes)
	if err != nil {
		return st, err
	}
	st.Buckets, err = buckets(ctx, js)
	return st, err
}

// members reads the members and leaders from the nodes bucket.
func members(ctx context.Context, nodes jetstream.KeyValue) (Status, error) {
	st := Status{Leaders: map[string]string{}}
	keys, err := nodes.ListKeys(ctx)
	if err != nil {
		return st, err
	}
	values := map[string]member{}
	for k := range keys.Keys() {
		e, err := nodes.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // lapsed meanwhile
		}
		if err != nil {
			return st, err
		}
		var m member
		if err := json.Unmarshal(e.Value(), &m); err != nil {
			return st, fmt.Errorf("bucket %s key %s: %w", bucketNodes, k, err)
		}
		values[k] = m
	}
	for k, m := range values {
		if role, ok := strings.CutPrefix(k, "leader."); ok {
			st.Leaders[role] = m.Node
		}
		owner, ok := strings.CutPrefix(k, memberPrefix)
		if !ok {
			continue
		}
		_, live := values[leasePrefix+owner]
		st.Members = append(st.Members, MemberStatus{Node: m.Node, Owner: m.Owner, Started: m.Started, Live: live,
			ClaimedBy: values[claimPrefix+owner].Owner})
	}
	slices.SortFunc(st.Members, func(a, b MemberStatus) int { return strings.Compare(a.Owner, b.Owner) })
	return st, nil
}

// buckets reads every Switchboard stream's state and replicas.
func buckets(ctx context.Context, js jetstream.JetStream) ([]BucketStatus, error) {
	var bs []BucketStatus
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		bucket := strings.TrimPrefix(info.Config.Name, "KV_") // a bucket's stream, or a stream of its own
		if !strings.HasPrefix(bucket, "switchboard_") {
			continue
		}
		b := BucketStatus{Bucket: bucket, Values: info.State.Msgs, Bytes: info.State.Bytes}
		if c := info.Cluster; c != nil {
			b.Leader = c.Leader
			for _, r := range c.Replicas {
				b.Replicas = append(b.Replicas, ReplicaStatus{Server: r.Name, Current: r.Current, Offline: r.Offline,
					Lag: r.Lag, Active: r.Active})
			}
		}
		bs = append(bs, b)
	}
	if err := streams.Err(); err != nil {
		return bs, err
	}
	slices.SortFunc(bs, func(a, b BucketStatus) int { return strings.Compare(a.Bucket, b.Bucket) })
	return bs, nil
}
