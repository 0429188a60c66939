package calltest

import (
	"sync"
	"time"
)

// audioRing keeps the last second of audio received and when it last
// grew; its methods are safe for concurrent use.
type audioRing struct {
	mu      sync.Mutex
	ring    [SampleRate]int16
	pos     int
	n       int
	last    time.Time
	scratch []int16
}

// addG711 decodes a G.711 payload of law l into the ring.
func (r *audioRing) addG711(l law, payload []byte, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scratch = l.decode(r.scratch[:0], payload)
	for _, v := range r.scratch {
		r.ring[r.pos] = v
		r.pos = (r.pos + 1) % len(r.ring)
	}
	r.n = min(len(r.ring), r.n+len(r.scratch))
	r.last = now
}

// recent returns the last d of audio received, nothing when none came
// within d.
func (r *audioRing) recent(d time.Duration) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.last) > d {
		return nil
	}
	n := min(r.n, int(d.Seconds()*SampleRate))
	out := make([]int16, n)
	for i := range out {
		out[i] = r.ring[(r.pos-n+i+len(r.ring))%len(r.ring)]
	}
	return out
}
