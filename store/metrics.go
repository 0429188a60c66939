package store

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

// metrics measures the group commit: how many writes share a commit, how
// long a commit takes (its writes run, then the file is written and
// synced), and how long a write waits for its commit to be durable.
type metrics struct {
	batchSize, commit, write prometheus.Histogram

	mu  sync.Mutex
	cur commitTally // the write transaction open now: bbolt has one at a time
}

// commitTally counts the writes run in one write transaction.
type commitTally struct {
	tx    *bolt.Tx
	start time.Time
	n     int
}

func newMetrics() *metrics {
	return &metrics{
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_store_batch_size",
			Help:    "Writes that shared one bbolt commit (and one fsync).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000}}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_store_commit_duration_seconds",
			Help:    "From a commit's first write run to the commit durable (its writes, the file written and synced).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}}),
		write: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_store_write_duration_seconds",
			Help:    "From a write asked for to its commit durable: the wait for others to join it (store.batch_delay) and the commit.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}}),
	}
}

// joined counts a write run in tx; the transaction's commit, once it
// happens, observes the commit's size and duration. A transaction rolled
// back (a write failed, and bbolt retries the others) is forgotten when
// the next one starts.
func (m *metrics) joined(tx *bolt.Tx) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur.tx != tx {
		m.cur = commitTally{tx: tx, start: time.Now()}
		tx.OnCommit(func() { m.committed(tx) })
	}
	m.cur.n++
}

func (m *metrics) committed(tx *bolt.Tx) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur.tx != tx {
		return
	}
	m.batchSize.Observe(float64(m.cur.n))
	m.commit.Observe(time.Since(m.cur.start).Seconds())
	m.cur = commitTally{}
}

// Collectors returns the store's metrics, for the process's registry.
func (db *DB) Collectors() []prometheus.Collector {
	return []prometheus.Collector{db.metrics.batchSize, db.metrics.commit, db.metrics.write}
}
