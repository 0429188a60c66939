package store

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/acd"
)

var (
	bucketAgentStates = []byte("agent_states")
	bucketTransitions = []byte("agent_transitions")
)

var _ acd.Store = (*DB)(nil)

// transitionRecord is an acd.Transition as stored, in both buckets: its
// JSON with a record version (records of schema 0 had none; the 0 → 1
// migration added it).
type transitionRecord struct {
	V int `json:"v"`
	acd.Transition
}

// EncodeTransition is t as stored; store/natsstore writes the same
// records to JetStream.
func EncodeTransition(t acd.Transition) ([]byte, error) {
	return json.Marshal(transitionRecord{V: 1, Transition: t})
}

// DecodeTransition reads a record EncodeTransition wrote, or one of
// schema 0.
func DecodeTransition(v []byte) (acd.Transition, error) {
	rec, err := unmarshal[transitionRecord](v)
	return rec.Transition, err
}

// transitionKey orders an agent's transitions by time.
func transitionKey(agent string, at time.Time) []byte {
	return []byte(agent + "\x00" + at.UTC().Format(transitionTimeLayout))
}

// transitionTimeLayout is fixed-width, so that keys sort by time.
const transitionTimeLayout = "2006-01-02T15:04:05.000000000Z"

// SaveTransition implements acd.Store: the agent's last state replaced, the
// transition appended under "<agent>\x00<RFC 3339 nano time>".
func (db *DB) SaveTransition(ctx context.Context, t acd.Transition) error {
	rec, err := EncodeTransition(t)
	if err != nil {
		return err
	}
	return db.batch(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketAgentStates).Put([]byte(t.Agent), rec); err != nil {
			return err
		}
		return tx.Bucket(bucketTransitions).Put(transitionKey(t.Agent, t.At), rec)
	})
}

// LoadAgentStates implements acd.Store.
func (db *DB) LoadAgentStates(_ context.Context, fn func(acd.Transition) error) error {
	return eachDecoded(db, bucketAgentStates, DecodeTransition, fn)
}
