package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// ownBranch starts the branch of every request udpClient sends, so that a
// response to one is known before any parsing, also once its transaction
// has ended (RFC 3261 §8.1.1.7 asks for the magic cookie only).
const ownBranch = "z9hG4bK-sb-"

// udpClient runs the client transactions of the requests this server
// sends over UDP itself, the NOTIFYs to its watchers: RFC 3261 §17.1.2's
// non-INVITE client transaction, without what sipgo's costs per request
// (a goroutine, a context and timers, the response parsed into headers).
// Requests leave from the listening socket, the address watchers and
// their NATs have seen; responses are matched by their top Via's branch
// in screen, before sipgo reads them.
type udpClient struct {
	conn  *net.UDPConn
	local netip.Addr // the socket's address, for the families it reaches
	mu    sync.Mutex
	txs   map[string]*udpTx // by branch
}

// A udpTx is one request waiting for its final response.
type udpTx struct {
	msg        []byte
	dst        netip.AddrPort
	interval   time.Duration // until the next retransmission (Timer E)
	deadline   time.Time     // Timer F
	proceeding bool          // a provisional response came
	timer      *time.Timer
	done       chan udpAnswer // one final answer, or why none came
}

type udpAnswer struct {
	code   int
	reason string
	err    error
}

func newUDPClient(c *net.UDPConn) *udpClient {
	local, _ := netip.ParseAddrPort(c.LocalAddr().String())
	return &udpClient{conn: c, local: local.Addr(), txs: make(map[string]*udpTx)}
}

// reaches reports whether the socket can send to dst: a socket bound to an
// IPv4 address reaches no IPv6 one.
func (c *udpClient) reaches(dst netip.AddrPort) bool {
	return !c.local.Is4() || dst.Addr().Unmap().Is4()
}

// do sends msg, whose top Via carries branch, to dst and waits for its
// final response, retransmitting on Timers E (T1 doubling up to T2, T2
// once a provisional response came) until Timer F (64·T1). It returns
// sipgo's ErrTransactionTimeout or ErrTransactionTransport when no answer
// can come, and ctx's error when ctx ends first.
func (c *udpClient) do(ctx context.Context, msg []byte, dst netip.AddrPort, branch string) (code int, reason string, err error) {
	tx := &udpTx{msg: msg, dst: dst, interval: sipmsg.T1, deadline: time.Now().Add(64 * sipmsg.T1), done: make(chan udpAnswer, 1)}
	c.mu.Lock()
	c.txs[branch] = tx
	tx.timer = time.AfterFunc(tx.interval, func() { c.retransmit(branch) })
	c.mu.Unlock()
	if _, err := c.conn.WriteToUDPAddrPort(msg, dst); err != nil {
		c.end(branch, udpAnswer{err: fmt.Errorf("%w: %w", sipmsg.ErrTransactionTransport, err)})
	}
	select {
	case a := <-tx.done:
		return a.code, a.reason, a.err
	case <-ctx.Done():
		c.end(branch, udpAnswer{})
		return 0, "", ctx.Err()
	}
}

// end removes the transaction of branch, if it is still there, and hands
// its waiter a.
func (c *udpClient) end(branch string, a udpAnswer) {
	c.mu.Lock()
	tx := c.txs[branch]
	delete(c.txs, branch)
	c.mu.Unlock()
	if tx != nil {
		tx.timer.Stop()
		tx.done <- a
	}
}

// retransmit sends the request of branch again, or ends its transaction
// when Timer F has fired.
func (c *udpClient) retransmit(branch string) {
	c.mu.Lock()
	tx := c.txs[branch]
	if tx == nil {
		c.mu.Unlock()
		return
	}
	if !time.Now().Before(tx.deadline) {
		c.mu.Unlock()
		c.end(branch, udpAnswer{err: sipmsg.ErrTransactionTimeout})
		return
	}
	if tx.proceeding {
		tx.interval = sipmsg.T2
	} else {
		tx.interval = min(2*tx.interval, sipmsg.T2)
	}
	tx.timer.Reset(tx.interval)
	c.mu.Unlock()
	if _, err := c.conn.WriteToUDPAddrPort(tx.msg, tx.dst); err != nil {
		c.end(branch, udpAnswer{err: fmt.Errorf("%w: %w", sipmsg.ErrTransactionTransport, err)})
	}
}

// answer takes a response off the wire if it answers one of our requests
// (its branch is ours): a final one ends the transaction, a provisional
// one slows its retransmissions, and one whose transaction has ended (a
// retransmitted final response, Timer K's job) is dropped. It reports
// whether the response was ours.
func (c *udpClient) answer(msg []byte) bool {
	branch := topBranch(msg)
	if !bytes.HasPrefix(branch, []byte(ownBranch)) {
		return false
	}
	code, reason, ok := statusLine(msg)
	if !ok {
		return true
	}
	c.mu.Lock()
	tx := c.txs[string(branch)]
	if tx != nil && code < 200 {
		tx.proceeding = true
	}
	c.mu.Unlock()
	if tx != nil && code >= 200 {
		c.end(string(branch), udpAnswer{code: code, reason: reason})
	}
	return true
}

// statusLine reads a response's status code and reason phrase.
func statusLine(msg []byte) (code int, reason string, ok bool) {
	line, _, _ := bytes.Cut(msg, []byte("\r\n"))
	rest, found := bytes.CutPrefix(line, []byte("SIP/2.0 "))
	if !found || len(rest) < 3 {
		return 0, "", false
	}
	for _, d := range rest[:3] {
		if d < '0' || d > '9' {
			return 0, "", false
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 || code > 699 {
		return 0, "", false
	}
	return code, string(bytes.TrimSpace(rest[3:])), true
}
