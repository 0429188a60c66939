package digestauth

import (
	"container/heap"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// Nonce layout: issued-unix-nanos (8 bytes, big endian) | 8 random bytes |
// HMAC-SHA256(key, first 16 bytes) truncated to 16 bytes, encoded with
// unpadded base64url.
const (
	nonceMACLen = 16
	nonceRawLen = 16 + nonceMACLen
)

var nonceEncoding = base64.RawURLEncoding.Strict()

// nonceLen is the length of an encoded nonce (43).
var nonceLen = nonceEncoding.EncodedLen(nonceRawLen)

// maxReplayEntries bounds the replay cache (entries are nonce+user pairs
// that authenticated successfully).
const maxReplayEntries = 100_000

func (a *Authenticator) newNonce() string {
	var b [nonceRawLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	rand.Read(b[8:16]) // never returns an error (crypto/rand crashes the program instead)
	a.mac(b[16:], b[:16])
	return nonceEncoding.EncodeToString(b[:])
}

// parseNonce checks that s is a nonce issued with a's key and returns its
// issue time in Unix nanoseconds. It does not check expiry.
func (a *Authenticator) parseNonce(s string) (issued int64, ok bool) {
	if len(s) != nonceLen {
		return 0, false
	}
	var b [nonceRawLen]byte
	if n, err := nonceEncoding.Decode(b[:], []byte(s)); err != nil || n != nonceRawLen {
		return 0, false
	}
	var want [nonceMACLen]byte
	a.mac(want[:], b[:16])
	if !hmac.Equal(want[:], b[16:]) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[:8])), true
}

// mac writes the truncated HMAC-SHA256 of msg into dst. HMAC states are
// pooled: hmac.New costs several allocations.
func (a *Authenticator) mac(dst, msg []byte) {
	m, _ := a.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, a.key)
	} else {
		m.Reset()
	}
	m.Write(msg)
	var sum [sha256.Size]byte
	copy(dst, m.Sum(sum[:0]))
	a.macs.Put(m)
}

// replayWindow is how far below the highest nonce count accepted a count
// may still be accepted once: requests a client sends concurrently with
// one nonce may overtake each other on the way (the ACD has up to 32
// PUBLISHes in flight), as IPsec's anti-replay window allows (RFC 4303
// §3.4.3).
const replayWindow = 64

// replayCache remembers, per nonce and user until the nonce expires, the
// highest nonce count accepted and which of the replayWindow counts below
// it were. Expired entries are pruned lazily on each
// insertion; when the cache is full the entry expiring first is evicted.
type replayCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*replayEntry
	h   replayHeap // ordered by expiry, earliest first
}

type replayEntry struct {
	key     string
	expires int64  // unix nanos after which the nonce is no longer accepted
	nc      int    // highest count accepted
	seen    uint64 // bit i: count nc-i was accepted
}

func newReplayCache(maxEntries int) *replayCache {
	return &replayCache{max: maxEntries, m: make(map[string]*replayEntry)}
}

// accept records nc for key and reports whether it is new: above every
// count accepted for key, or within replayWindow below the highest and not
// accepted before. A false result means a replay (or a count too old to
// tell).
func (c *replayCache) accept(key string, expires, now int64, nc int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.h) > 0 && c.h[0].expires < now {
		delete(c.m, heap.Pop(&c.h).(*replayEntry).key)
	}
	if e, ok := c.m[key]; ok {
		return e.accept(nc)
	}
	for len(c.h) >= c.max {
		delete(c.m, heap.Pop(&c.h).(*replayEntry).key)
	}
	e := &replayEntry{key: key, expires: expires, nc: nc, seen: 1}
	heap.Push(&c.h, e)
	c.m[key] = e
	return true
}

// accept is replayCache.accept for one entry.
func (e *replayEntry) accept(nc int) bool {
	if nc > e.nc {
		if shift := nc - e.nc; shift < replayWindow {
			e.seen = e.seen<<shift | 1
		} else {
			e.seen = 1
		}
		e.nc = nc
		return true
	}
	if e.nc-nc >= replayWindow {
		return false
	}
	bit := uint64(1) << (e.nc - nc)
	if e.seen&bit != 0 {
		return false
	}
	e.seen |= bit
	return true
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h replayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *replayHeap) Push(x any)        { *h = append(*h, x.(*replayEntry)) }
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
