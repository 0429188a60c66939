package presence

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Entries fire when due, in time order, each once; stale ones pile up only
// until the heap has doubled, then compaction drops them, and the live
// ones still fire.
func TestExpiries_FireWhenDueAndCompactStaleOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		current := map[string]int64{} // key → the expiry that is live
		var fired []string
		x := newExpiries(func(e dueEntry) {
			mu.Lock()
			fired = append(fired, e.key)
			mu.Unlock()
		}, func(e dueEntry) bool {
			mu.Lock()
			defer mu.Unlock()
			return current[e.key] == e.at
		})
		start := time.Now()
		// One subscription refreshed 10,000 times, each refresh a second
		// further away: all but the last entry are stale.
		for i := range 10_000 {
			at := start.Add(time.Hour + time.Duration(i)*time.Second)
			mu.Lock()
			current["w1"] = at.UnixNano()
			mu.Unlock()
			x.add(at, nil, "w1")
			synctest.Wait() // a compaction it started is done before the next refresh
		}
		x.add(start.Add(time.Minute), nil, "w2")
		mu.Lock()
		current["w2"] = start.Add(time.Minute).UnixNano()
		mu.Unlock()
		synctest.Wait()
		x.mu.Lock()
		n := len(x.due)
		x.mu.Unlock()
		if n > compactFloor {
			t.Fatalf("%d entries kept for 2 live items", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		if len(fired) != 1 || fired[0] != "w2" {
			t.Fatalf("after a minute fired %v, want [w2]", fired)
		}
		mu.Unlock()
		time.Sleep(4 * time.Hour)
		synctest.Wait()
		x.close()
		mu.Lock()
		defer mu.Unlock()
		live := 0
		for _, k := range fired {
			if k == "w1" {
				live++
			}
		}
		// The stale entries that were not compacted away fire too (and
		// do nothing, as expire and timeout check); the live one fires.
		if live == 0 || live > compactFloor {
			t.Fatalf("w1 fired %d times", live)
		}
	})
}
