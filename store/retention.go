package store

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/calls"
)

// DefaultRetention is how long agent transitions and finished callbacks
// are kept by default.
const DefaultRetention = 90 * 24 * time.Hour

// pruneBatch is the most records one pruning transaction deletes, so
// that pruning never holds the writer long beside PUBLISHes.
const pruneBatch = 1000

// pruneScan is the most records one pruning transaction looks at.
const pruneScan = 20 * pruneBatch

// Pruned counts the records a Prune deleted.
type Pruned struct {
	Transitions int
	Callbacks   int
}

// Prune deletes agent transitions that happened before cutoff, and
// callbacks that ended (done, failed, cancelled) and were last updated
// before cutoff, at most limit records of each, pruneBatch per
// transaction. Agents' last states and pending callbacks are kept
// whatever their age. A Pruned below limit means none were left.
func (db *DB) Prune(ctx context.Context, cutoff time.Time, limit int) (Pruned, error) {
	var p Pruned
	var err error
	p.Transitions, err = db.pruneBucket(ctx, bucketTransitions, limit, func(k, _ []byte) bool {
		_, at, ok := bytes.Cut(k, []byte{0})
		t, perr := time.Parse(transitionTimeLayout, string(at))
		return ok && perr == nil && t.Before(cutoff)
	})
	if err != nil {
		return p, err
	}
	p.Callbacks, err = db.pruneBucket(ctx, bucketCallbacks, limit, func(_, v []byte) bool {
		var cb struct {
			State   calls.CallbackState `json:"state"`
			Updated time.Time           `json:"updated"`
		}
		if json.Unmarshal(v, &cb) != nil {
			return false
		}
		over := cb.State == calls.CallbackDone || cb.State == calls.CallbackFailed || cb.State == calls.CallbackCancelled
		return over && cb.Updated.Before(cutoff)
	})
	return p, err
}

// pruneBucket deletes the records of bucket old says are old, up to
// limit, in transactions of at most pruneBatch deletions.
func (db *DB) pruneBucket(ctx context.Context, bucket []byte, limit int, old func(k, v []byte) bool) (int, error) {
	deleted := 0
	var after []byte // the last key looked at
	for more := true; more && deleted < limit; {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		n := 0
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucket)
			c := bk.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			var doomed [][]byte
			scanned := 0
			for ; k != nil && len(doomed) < min(pruneBatch, limit-deleted) && scanned < pruneScan; k, v = c.Next() {
				scanned++
				after = append(after[:0], k...)
				if old(k, v) {
					doomed = append(doomed, append([]byte(nil), k...))
				}
			}
			more = k != nil
			n = len(doomed)
			for _, k := range doomed {
				if err := bk.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
	}
	return deleted, nil
}
