package sip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// BenchmarkNotifyFanout measures one PUBLISH to the last of the NOTIFYs
// it causes (mean, and p99 of the iterations), to 1,000 and to 10,000
// watchers, each subscribed in its own dialog, all over UDP on loopback.
// The watchers are rawWatchers in the same process, which take their
// share of the CPU but keep no state. The rate limit is off so that every
// change is sent, and the per-watcher cap (one peer plays every watcher)
// is lifted.
func BenchmarkNotifyFanout(b *testing.B) {
	for _, watchers := range []int{1000, 10000} {
		b.Run(fmt.Sprint(watchers), func(b *testing.B) { notifyFanout(b, watchers) })
	}
}

func notifyFanout(b *testing.B, watchers int) {
	st := newStack(b, func(_ *Config, pc *presence.Config) {
		pc.MinNotifyInterval = 0
		pc.MaxSubscriptionsPerWatcher = 2 * watchers
		pc.MaxSubscriptionsPerPresentity = 2 * watchers
	})
	w := newRawWatchers(b, st.srv.Addr("udp"))
	w.subscribe(b, alice, watchers)
	w.awaitNotifies(b, watchers) // the initial ones
	pub := siptest.NewPeer(b)
	_, _, etag := publish(pub, st, alice, siptest.PIDF(alice, "t1", "open", ""))
	w.awaitNotifies(b, watchers)
	basics := []string{"closed", "open"}
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		_, _, etag = publish(pub, st, alice, siptest.PIDF(alice, "t1", basics[len(took)%2], ""), "SIP-If-Match: "+etag)
		w.awaitNotifies(b, watchers)
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "p99-ms")
}

// rawWatchers plays many watchers on one UDP socket the way SIPp's UAS
// does: it answers each NOTIFY with a 200 OK made of the NOTIFY's own
// Via, From, To, Call-ID and CSeq, and keeps no transaction, so that the
// benchmark's heap and CPU go to the server rather than to a test peer
// holding every NOTIFY for Timer J.
type rawWatchers struct {
	conn     *net.UDPConn
	server   netip.AddrPort
	notifies chan struct{} // one per NOTIFY answered
	answers  chan int      // status codes of responses to our SUBSCRIBEs
}

func newRawWatchers(b *testing.B, server string) *rawWatchers {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadBuffer(udpBufferBytes)
	w := &rawWatchers{conn: c, server: netip.MustParseAddrPort(server),
		notifies: make(chan struct{}, 20000), answers: make(chan int, 1000)}
	done := make(chan struct{})
	b.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, src, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			msg := buf[:n]
			if code, _, ok := statusLine(msg); ok {
				w.answers <- code
				continue
			}
			if bytes.HasPrefix(msg, []byte("NOTIFY ")) {
				c.WriteToUDPAddrPort(refusalMessage(msg, refusal(200, "OK"), "rawWatchers"), src)
				w.notifies <- struct{}{}
			}
		}
	}()
	return w
}

// subscribe opens n subscriptions to uri, 100 at most waiting for their
// answer at once.
func (w *rawWatchers) subscribe(b *testing.B, uri string, n int) {
	local := w.conn.LocalAddr().String()
	waiting := 0
	await := func() {
		if code := <-w.answers; code/100 != 2 {
			b.Fatalf("subscribe: %d", code)
		}
		waiting--
	}
	for i := range n {
		if _, err := w.conn.WriteToUDPAddrPort(subscribeBytes(uri, local, i), w.server); err != nil {
			b.Fatal(err)
		}
		if waiting++; waiting == 100 {
			await()
		}
	}
	for waiting > 0 {
		await()
	}
}

// subscribeBytes is watcher i's initial SUBSCRIBE to uri, from local.
func subscribeBytes(uri, local string, i int) []byte {
	id := strconv.Itoa(i)
	return []byte("SUBSCRIBE " + uri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-w" + id +
		"\r\nFrom: <sip:w" + id + "@example.com>;tag=w" + id + "\r\nTo: <" + uri + ">\r\nCall-ID: w" + id +
		"\r\nCSeq: 1 SUBSCRIBE\r\nMax-Forwards: 70\r\nContact: <sip:w" + id + "@" + local +
		">\r\nEvent: presence\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
}

// awaitNotifies waits for n NOTIFYs answered, for a minute at most.
func (w *rawWatchers) awaitNotifies(b *testing.B, n int) {
	deadline := time.After(time.Minute)
	for range n {
		select {
		case <-w.notifies:
		case <-deadline:
			b.Fatalf("fewer than %d NOTIFYs within a minute", n)
		}
	}
}

// BenchmarkPublish measures a durable PUBLISH round trip from one client,
// over UDP on loopback, each for a fresh presentity.
func BenchmarkPublish(b *testing.B) {
	st := newStack(b, nil)
	p := siptest.NewPeer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		uri := fmt.Sprintf("sip:u%d@example.com", i)
		if code, _, _ := publish(p, st, uri, siptest.PIDF(uri, "t1", "open", "")); code != 200 {
			b.Fatalf("publish: %d", code)
		}
		i++
	}
}
