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

// replayCache remembers the highest nonce count accepted per nonce and
// user until the nonce expires. Expired entries are pruned lazily on each
// insertion; when the cache is full the entry expiring first is evicted.
type replayCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*replayEntry
	h   replayHeap // ordered by expiry, earliest first
}

type replayEntry struct {
	key     string
	expires int64 // unix nanos after which the nonce is no longer accepted
	nc      int
}

func newReplayCache(maxEntries int) *replayCache {
	return &replayCache{max: maxEntries, m: make(map[string]*replayEntry)}
}

// accept records nc for key and reports whether it is greater than every
// count previously accepted for key. A false result means a replay.
func (c *replayCache) accept(key string, expires, now int64, nc int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.h) > 0 && c.h[0].expires < now {
		delete(c.m, heap.Pop(&c.h).(*replayEntry).key)
	}
	if e, ok := c.m[key]; ok {
		if nc <= e.nc {
			return false
		}
		e.nc = nc
		return true
	}
	for len(c.h) >= c.max {
		delete(c.m, heap.Pop(&c.h).(*replayEntry).key)
	}
	e := &replayEntry{key: key, expires: expires, nc: nc}
	heap.Push(&c.h, e)
	c.m[key] = e
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
