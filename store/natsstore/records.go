package natsstore

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// The buckets of the other domains' records, shared by every node: the
// registrar's bindings (bindings.go), the ACD's agent states and
// callbacks (acd.go), generated secrets (settings.go), and the stream of
// agent transitions. The record
// encodings are store/'s (store.EncodeBindings and friends).
const (
	bucketBindings     = "switchboard_bindings"
	bucketAgents       = "switchboard_agents"
	bucketCallbacks    = "switchboard_callbacks"
	bucketSettings     = "switchboard_settings"
	streamTransitions  = "switchboard_transitions"
	subjectTransitions = "switchboard.transitions." // then the agent, encoded
)

// records are those buckets.
type records struct {
	bindings  jetstream.KeyValue
	agents    jetstream.KeyValue
	callbacks jetstream.KeyValue
	settings  jetstream.KeyValue

	bindingsLoadedAt uint64 // the bindings stream's last sequence when LoadBindings began
}

// recordBuckets creates the records' buckets and the transitions stream,
// or brings their settings up to cfg: transitions are kept for
// cfg.Retention (zero: for ever).
func (s *Store) recordBuckets(ctx context.Context, cfg Config) error {
	var err error
	if s.recs.bindings, err = s.bucket(ctx, bucketBindings, "Switchboard registrar bindings", cfg.Replicas); err != nil {
		return err
	}
	if s.recs.agents, err = s.bucket(ctx, bucketAgents, "Switchboard ACD agent states", cfg.Replicas); err != nil {
		return err
	}
	if s.recs.callbacks, err = s.bucket(ctx, bucketCallbacks, "Switchboard callback requests", cfg.Replicas); err != nil {
		return err
	}
	if s.recs.settings, err = s.bucket(ctx, bucketSettings, "Switchboard generated settings", cfg.Replicas); err != nil {
		return err
	}
	_, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: streamTransitions, Description: "Switchboard ACD agent state transitions",
		Subjects: []string{subjectTransitions + ">"}, Storage: jetstream.FileStorage,
		Replicas: cfg.Replicas, MaxAge: cfg.Retention,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", streamTransitions, err)
	}
	return nil
}

// bucket creates or updates a bucket holding the last value of each key;
// removal markers lapse after markerTTL.
func (s *Store) bucket(ctx context.Context, name, description string, replicas int) (jetstream.KeyValue, error) {
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: description, History: 1, Replicas: replicas,
		Storage: jetstream.FileStorage, LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	return kv, nil
}

// lastSeq is the last sequence of kv's stream: a watch from the next one
// misses nothing written after.
func lastSeq(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("bucket %s: %w", kv.Bucket(), err)
	}
	return st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq, nil
}

// follow hands fn every change to kv from revision from on, in the
// stream's order, until ctx ends (nil) or the watch does (an error).
func follow(ctx context.Context, kv jetstream.KeyValue, from uint64, fn func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx, jetstream.IncludeHistory(), jetstream.ResumeFromRevision(from))
	if err != nil {
		return fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: the watch ended", kv.Bucket())
			}
			if e != nil {
				fn(e)
			}
		case <-ctx.Done():
			return nil
		}
	}
}
