package presence

import (
	"container/heap"
	"sync"
	"time"
)

// expiries is the service's one clock for publications and subscriptions
// that lapse: a heap of due times and a single timer for the earliest. A
// timer per publication and per subscription would cost some 250 bytes
// each (the runtime's timer and its closure) and a place in the
// runtime's timer heap; an entry here costs 32.
//
// Entries are not removed one by one: a refresh pushes a new one, and an
// entry that comes due checks whether its publication or subscription
// still lapses then (expire and timeout do), so a stale one does
// nothing. So that refreshes far more frequent than expiries do not
// pile entries up, the heap is compacted, stale entries dropped, each
// time it has doubled since the last compaction.
type expiries struct {
	mu         sync.Mutex
	due        dueHeap
	timer      *time.Timer
	at         time.Time // when timer fires; zero while it is not armed
	closed     bool
	fire       func(dueEntry)
	live       func(dueEntry) bool // whether an entry's item still lapses at its time
	compactAt  int                 // heap size that starts the next compaction
	compacting bool
	loading    bool // entries are appended unordered until loaded
}

// compactFloor is the least heap size worth compacting.
const compactFloor = 4096

// dueEntry is one lapse to check: a publication (pr and its entity tag)
// or a subscription (its ID, pr nil).
type dueEntry struct {
	at  int64 // Unix nanoseconds
	pr  *presentity
	key string
}

func newExpiries(fire func(dueEntry), live func(dueEntry) bool) *expiries {
	return &expiries{fire: fire, live: live, compactAt: compactFloor}
}

// add schedules e for at.
func (x *expiries) add(at time.Time, pr *presentity, key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	if x.loading {
		x.due = append(x.due, dueEntry{at: at.UnixNano(), pr: pr, key: key})
		return
	}
	heap.Push(&x.due, dueEntry{at: at.UnixNano(), pr: pr, key: key})
	x.arm()
	if len(x.due) >= x.compactAt && !x.compacting {
		x.compacting = true
		go x.compact() // live takes the locks add's callers hold
	}
}

// load defers ordering the heap, and compacting it, until loaded: a
// start that reads a million entries orders them once, in linear time.
func (x *expiries) load() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loading = true
}

// loaded orders what load deferred and arms the timer.
func (x *expiries) loaded() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loading = false
	heap.Init(&x.due)
	x.compactAt = max(compactFloor, 2*len(x.due))
	x.at = time.Time{} // a run while loading left the timer unarmed
	if !x.closed {
		x.arm()
	}
}

// compact drops the stale entries. It takes the heap out, filters it with
// no lock held (live locks presentities and watchers), and merges what
// was added meanwhile; entries due meanwhile fire once it is back.
func (x *expiries) compact() {
	x.mu.Lock()
	old := x.due
	x.due = nil
	x.mu.Unlock()
	kept := old[:0]
	for _, e := range old {
		if x.live(e) {
			kept = append(kept, e)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.due = append(kept, x.due...)
	heap.Init(&x.due)
	x.compactAt = max(2*len(x.due), compactFloor)
	x.compacting = false
	if x.closed {
		x.due = nil
		return
	}
	x.at = time.Time{} // re-arm for the merged heap's earliest
	x.arm()
}

// arm sets the timer for the earliest entry, when that is earlier than
// it is set for. x.mu must be held.
func (x *expiries) arm() {
	if len(x.due) == 0 {
		return
	}
	next := time.Unix(0, x.due[0].at)
	if !x.at.IsZero() && !next.Before(x.at) {
		return
	}
	x.at = next
	d := time.Until(next)
	if x.timer == nil {
		x.timer = time.AfterFunc(d, x.run)
		return
	}
	x.timer.Reset(d)
}

// run fires every entry that is due, each in a goroutine of its own as a
// timer of its own would, and re-arms.
func (x *expiries) run() {
	x.mu.Lock()
	now := time.Now().UnixNano()
	var due []dueEntry
	for !x.loading && len(x.due) > 0 && x.due[0].at <= now {
		due = append(due, heap.Pop(&x.due).(dueEntry))
	}
	x.at = time.Time{}
	if !x.closed {
		x.arm()
	}
	x.mu.Unlock()
	for _, e := range due {
		go x.fire(e) // each waits for its own store write; together they share commits
	}
}

// close stops the timer; nothing fires after it returns, but an entry
// already firing.
func (x *expiries) close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.closed = true
	if x.timer != nil {
		x.timer.Stop()
	}
	x.due = nil
}

type dueHeap []dueEntry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(v any)        { *h = append(*h, v.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
