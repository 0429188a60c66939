package sip

import (
	"bytes"
	"net/netip"
	"sync"
	"time"
)

// answeredFor is how long a final response to a request over UDP is kept
// for its retransmissions: Timer J, 64·T1 (RFC 3261 §17.2.2).
const answeredFor = 32 * time.Second

// answeredGenerations is how many slices answeredFor is kept in: an
// answer lives between answeredFor and answeredFor plus one slice.
const answeredGenerations = 4

// answered keeps the final responses the server sent to non-INVITE
// requests that came over UDP, by transaction, for Timer J: the screen
// answers a retransmission with them, and sipgo's server transaction is
// terminated as soon as it has answered. sipgo would keep that
// transaction, the parsed request and response with three timers, for
// the 32 s instead: at thousands of requests a second, most of the live
// heap, scanned by every garbage collection. Here an answer is the bytes
// sent, which the collector does not scan.
type answered struct {
	mu      sync.Mutex
	gens    [answeredGenerations + 1]map[uint64][]byte // gens[0] is the newest
	rotated time.Time
}

func newAnswered(now time.Time) *answered {
	a := &answered{rotated: now}
	for i := range a.gens {
		a.gens[i] = map[uint64][]byte{}
	}
	return a
}

// put keeps res as the answer of the transaction key.
func (a *answered) put(key uint64, res []byte, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rotate(now)
	a.gens[0][key] = res
}

// get returns the answer kept for key, nil when there is none.
func (a *answered) get(key uint64, now time.Time) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rotate(now)
	for _, g := range a.gens {
		if res, ok := g[key]; ok {
			return res
		}
	}
	return nil
}

// rotate drops the oldest generation once a slice of answeredFor has
// passed since the last rotation. a.mu must be held.
func (a *answered) rotate(now time.Time) {
	if now.Sub(a.rotated) < answeredFor/answeredGenerations {
		return
	}
	last := a.gens[len(a.gens)-1]
	copy(a.gens[1:], a.gens[:len(a.gens)-1])
	clear(last)
	a.gens[0], a.rotated = last, now
}

// transactionKey identifies a request's server transaction as RFC 3261
// §17.2.3 matches it, hashed (FNV-1a, 64 bits): the top Via's branch and
// the method (a CANCEL shares its request's branch), and the address it
// came from, so that nobody else is ever sent the answer.
func transactionKey(method, branch []byte, src netip.AddrPort) uint64 {
	h := uint64(fnvOffset)
	add := func(b []byte) {
		h = fnv1a(h, b)
		h = fnv1a(h, []byte{0xff}) // a separator no token holds
	}
	add(method)
	add(branch)
	ip := src.Addr().Unmap().As16()
	add(ip[:])
	add([]byte{byte(src.Port() >> 8), byte(src.Port())})
	return h
}

// requestKey is the transactionKey of a request as inspect passed it:
// its method and the branch of its top Via (inspect gave every request
// one), from src.
func requestKey(msg []byte, src netip.AddrPort) uint64 {
	method, _, _ := bytes.Cut(msg, []byte(" "))
	return transactionKey(method, topBranch(msg), src)
}

// topBranch is the branch parameter of a message's first Via, nil when
// there is none.
func topBranch(msg []byte) []byte {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	_, head, _ = bytes.Cut(head, []byte("\r\n")) // the start line
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte("\r\n"))
		name, value, ok := splitField(line)
		if !ok || kindOf(name) != hVia {
			continue
		}
		first, _, _ := bytes.Cut(value, []byte(","))
		return viaParam(first, "branch")
	}
	return nil
}
