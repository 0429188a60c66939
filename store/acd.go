package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/acd"
)

var (
	bucketAgentStates = []byte("agent_states")
	bucketTransitions = []byte("agent_transitions")
)

var _ acd.Store = (*DB)(nil)

// SaveTransition implements acd.Store: the agent's last state replaced, the
// transition appended under "<agent>\x00<RFC 3339 nano time>".
func (db *DB) SaveTransition(ctx context.Context, t acd.Transition) error {
	return db.batch(ctx, func(tx *bolt.Tx) error {
		if err := put(tx, bucketAgentStates, []byte(t.Agent), t); err != nil {
			return err
		}
		key := fmt.Sprintf("%s\x00%s", t.Agent, t.At.UTC().Format("2006-01-02T15:04:05.000000000Z"))
		return put(tx, bucketTransitions, []byte(key), t)
	})
}

// LoadAgentStates implements acd.Store.
func (db *DB) LoadAgentStates(_ context.Context, fn func(acd.Transition) error) error {
	return each(db, bucketAgentStates, fn)
}
