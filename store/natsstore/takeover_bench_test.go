package natsstore

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/natstest"
	"github.com/switchboard/switchboard/presence"
)

// BenchmarkTakeover measures how long a survivor takes to move a dead
// process's subscriptions and adopt them, from its claim to the last
// adoption (the lease's lapse and the two looks before it are the
// cluster.takeover setting's, not measured here), on one server.
func BenchmarkTakeover(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("subscriptions=%d", n), func(b *testing.B) {
			url := natstest.RunJetStream(b)
			for range b.N {
				b.StopTimer()
				dead, taker := openFast(b, url, "dead"), openFast(b, url, "taker")
				for i := range n {
					sub := presence.Subscription{ID: fmt.Sprintf("call-%d;from;to", i), Presentity: "sip:alice@example.com",
						Expires: time.Now().Add(time.Hour), SeqReserved: 100, Dialog: make([]byte, 300)}
					if err := dead.PutSubscription(b.Context(), sub); err != nil {
						b.Fatal(err)
					}
				}
				dead.crash()
				var adopted atomic.Int64 // adopt runs concurrently
				b.StartTimer()
				if err := taker.takeOver(b.Context(), dead.owner, func(presence.Subscription) bool { adopted.Add(1); return true }); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if adopted.Load() != int64(n) {
					b.Fatalf("adopted %d of %d", adopted.Load(), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/subscription")
		})
	}
}
