package sip

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

var testSource = netip.MustParseAddrPort("127.0.0.1:5999")

// admitMsg asks a about msg, read from testSource.
func admitMsg(a *admission, msg []byte, inflight int64, waited time.Duration, now time.Time) string {
	method, _, _ := strings.Cut(string(msg), " ")
	return a.admit([]byte(method), requestKey(msg, testSource), inflight, waited, now)
}

func publishBytes(i int) []byte {
	return []byte("PUBLISH sip:u" + strconv.Itoa(i) + "@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-o" +
		strconv.Itoa(i) + "\r\nFrom: <sip:u@example.com>;tag=o\r\nTo: <sip:u@example.com>\r\nCall-ID: o-" + strconv.Itoa(i) +
		"\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
}

// The limit on requests in hand shrinks by a quarter after an interval in
// which most answers came later than the target, down to a floor, and
// grows by an eighth, up to max_in_flight, after one in which it was
// reached while answers came in time.
func TestAdmission_LimitFollowsTheAnswersLatency(t *testing.T) {
	cfg := OverloadConfig{MaxInFlight: 100, Target: 20 * time.Millisecond, Interval: 100 * time.Millisecond, RetryAfter: time.Second}
	now := time.Unix(1000, 0)
	a := newAdmission(cfg, now)
	interval := func(latency time.Duration, inflight int64) {
		for range 10 {
			a.done(latency, inflight, now)
		}
		now = now.Add(cfg.Interval)
		a.done(latency, inflight, now) // the next interval's first answer closes this one
	}
	interval(50*time.Millisecond, 10)
	if got := a.Limit(); got != 75 {
		t.Fatalf("after an interval of late answers: limit %d, want 75", got)
	}
	for range 20 {
		interval(50*time.Millisecond, 2)
	}
	if got := a.Limit(); got != minAdmissionLimit {
		t.Fatalf("after many: limit %d, want the floor %d", got, minAdmissionLimit)
	}
	interval(time.Millisecond, 1) // in time, but the limit was not reached: it stays
	if got := a.Limit(); got != minAdmissionLimit {
		t.Fatalf("answers in time below the limit: limit %d, want %d", got, minAdmissionLimit)
	}
	for range 60 {
		interval(time.Millisecond, a.Limit())
	}
	if got := a.Limit(); got != 100 {
		t.Fatalf("answers in time at the limit: limit %d, want max_in_flight 100", got)
	}
}

// Past the limit a request is refused, a retransmission of an admitted
// one passes (its transaction is in hand), and ACK, CANCEL and BYE
// always pass; max_in_flight 0 admits everything.
func TestAdmission_RefusesNewWorkOnlyPastTheLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	a := newAdmission(OverloadConfig{MaxInFlight: 2, Target: 20 * time.Millisecond, Interval: 100 * time.Millisecond, RetryAfter: time.Second}, now)
	if why := admitMsg(a, publishBytes(1), 0, 0, now); why != inTime {
		t.Fatalf("first request: %q", why)
	}
	if why := admitMsg(a, publishBytes(2), 2, 0, now); why != fullHands {
		t.Fatalf("past the limit: %q, want %q", why, fullHands)
	}
	if why := admitMsg(a, publishBytes(1), 2, 0, now.Add(time.Second)); why != inTime {
		t.Fatalf("retransmission past the limit: %q", why)
	}
	for _, m := range []string{"ACK", "CANCEL", "BYE"} {
		msg := strings.Replace(string(publishBytes(3)), "PUBLISH", m, 2)
		if why := admitMsg(a, []byte(msg), 9, time.Second, now); why != inTime {
			t.Errorf("%s past the limit: %q", m, why)
		}
	}
	off := newAdmission(OverloadConfig{}, now)
	if why := admitMsg(off, publishBytes(4), 1e6, time.Hour, now); why != inTime {
		t.Errorf("admission off: %q", why)
	}
}

// A request that waited in the socket longer than the target is refused
// only once the queue has stood a whole interval (a burst drains within
// one), and until a request is read in time again.
func TestAdmission_RefusesLateReadsOnlyWhileTheSocketQueueStands(t *testing.T) {
	cfg := OverloadConfig{MaxInFlight: 1000, Target: 20 * time.Millisecond, Interval: 100 * time.Millisecond, RetryAfter: time.Second}
	now := time.Unix(1000, 0)
	a := newAdmission(cfg, now)
	late := 50 * time.Millisecond
	i := 0
	read := func(waited time.Duration) string {
		i++
		return admitMsg(a, publishBytes(i), 0, waited, now)
	}
	if why := read(late); why != inTime {
		t.Fatalf("a late read in a burst: %q", why)
	}
	now = now.Add(cfg.Interval)
	read(late) // closes an interval whose quickest read was late
	if why := read(late); why != lateRead {
		t.Fatalf("a late read while the queue stands: %q, want %q", why, lateRead)
	}
	if why := read(time.Millisecond); why != inTime {
		t.Fatalf("a read in time: %q", why)
	}
	if why := read(late); why != inTime {
		t.Fatalf("a late read once the queue drained: %q", why)
	}
	if a.Limit() >= 1000 {
		t.Errorf("limit %d: a standing socket queue should shrink it", a.Limit())
	}
}

// Over real UDP, requests past sip.overload.max_in_flight get each one
// final answer: 503 at once with Retry-After and a Warning naming the
// limit, counted under sip.overload, while the one in hand (held by a
// slow store commit) gets its 200.
func TestOverload_RequestsPastTheLimitAreRefusedAtOnce(t *testing.T) {
	st := newStack(t, func(c *Config, _ *presence.Config) {
		c.Overload = OverloadConfig{MaxInFlight: 1, Target: time.Minute, Interval: time.Minute, RetryAfter: 3 * time.Second}
	}, func(st *stack) { st.batchDelay = 500 * time.Millisecond })
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst, _ := net.ResolveUDPAddr("udp", st.srv.Addr("udp"))
	send := func(i int) {
		msg := strings.Replace(string(publishBytes(i)), "127.0.0.1:5999", c.LocalAddr().String(), 1)
		msg = strings.Replace(msg, "Content-Length: 0", "Event: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: "+
			strconv.Itoa(len(pidfOf(i))), 1) + pidfOf(i)
		c.WriteTo([]byte(msg), dst)
	}
	send(0)
	for deadline := time.Now().Add(5 * time.Second); st.srv.unanswered.Load() < 1; {
		if time.Now().After(deadline) {
			t.Fatal("the first PUBLISH never reached its handler")
		}
		time.Sleep(time.Millisecond)
	}
	const n = 50
	for i := 1; i < n; i++ {
		send(i)
	}
	answers := map[string]string{} // Call-ID → status line
	buf := make([]byte, 4096)
	for len(answers) < n {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		res := string(buf[:m])
		line, _, _ := strings.Cut(res, "\r\n")
		_, id, _ := strings.Cut(res, "Call-ID: ")
		id, _, _ = strings.Cut(id, "\r\n")
		if prev, dup := answers[id]; dup {
			t.Errorf("%s answered %q and %q", id, prev, line)
		}
		answers[id] = line
		if strings.HasPrefix(line, "SIP/2.0 503") &&
			(!strings.Contains(res, "Retry-After: 3\r\n") || !strings.Contains(res, `Warning: 399 - "sip.overload`)) {
			t.Errorf("a 503 without Retry-After 3 or the limit's name:\n%s", res)
		}
	}
	refused := 0
	for _, line := range answers {
		if strings.HasPrefix(line, "SIP/2.0 503") {
			refused++
		}
	}
	if len(answers) != n || !strings.HasPrefix(answers["o-0"], "SIP/2.0 200") || refused == 0 {
		t.Fatalf("%d PUBLISHes, max_in_flight 1: %d answered, the first %q, %d refused", n, len(answers), answers["o-0"], refused)
	}
	if got := testutil.ToFloat64(st.srv.metrics.refused.WithLabelValues("sip.overload")); got != float64(refused) {
		t.Errorf("sip.overload refusals counted %v, want %d", got, refused)
	}
}

func pidfOf(i int) string {
	return `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:u` + strconv.Itoa(i) +
		`@example.com"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`
}

// BenchmarkScreenRefusal is what refusing one request costs the reader
// past the admission limit: reading it (inspect), the admission, and the
// 503 built from its bytes; the write to the socket comes on top.
func BenchmarkScreenRefusal(b *testing.B) {
	srv, err := NewServer(Config{UDP: "127.0.0.1:0", Overload: OverloadConfig{MaxInFlight: 1, Target: time.Second,
		Interval: time.Second, RetryAfter: time.Second}}, nil, siptest.Quiet())
	if err != nil {
		b.Fatal(err)
	}
	srv.unanswered.Store(1)
	src := netip.MustParseAddrPort("192.0.2.10:5060")
	msg := publishBytes(1)
	buf := make([]byte, len(msg))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, msg)
		if out, answer := srv.screen(buf, src, 0); out != nil || answer == nil {
			b.Fatal("not refused")
		}
	}
}
