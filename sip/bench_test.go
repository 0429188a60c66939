package sip

import (
	"fmt"
	"sync/atomic"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// BenchmarkNotifyFanout measures one PUBLISH to the last of the NOTIFYs
// it causes, to 1,000 and to 10,000 watchers, each subscribed in its own
// dialog, all over UDP on loopback (the watchers' peer runs in the same
// process and takes its share of the CPU). The rate limit is off so that
// every change is sent, and the per-watcher cap (one peer plays every
// watcher) is lifted.
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
	var seen atomic.Int64
	done := make(chan struct{}, 1)
	var target atomic.Int64
	w := siptest.NewPeer(b, siptest.OnNotify(func(*sipmsg.Request) {
		if seen.Add(1) == target.Load() {
			done <- struct{}{}
		}
	}))
	target.Store(int64(watchers))
	for range watchers {
		if res := subscribe(w, st, alice, "Event: presence", "Expires: 3600"); res.StatusCode/100 != 2 {
			b.Fatalf("subscribe: %d", res.StatusCode)
		}
	}
	<-done // the initial NOTIFYs
	pub := siptest.NewPeer(b)
	seen.Store(0)
	_, _, etag := publish(pub, st, alice, siptest.PIDF(alice, "t1", "open", ""))
	<-done
	basics := []string{"closed", "open"}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		seen.Store(0)
		target.Store(int64(watchers))
		_, _, etag = publish(pub, st, alice, siptest.PIDF(alice, "t1", basics[i%2], ""), "SIP-If-Match: "+etag)
		<-done
		i++
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
