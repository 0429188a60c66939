package presence_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// BenchmarkOneUserAgainstTheCaps is the abuse, measured: one user
// sends 500 PUBLISHes of 60 kB for one presentity and opens 10,000
// subscriptions. The caps refuse what is past them, and the heap stays
// bounded (reported as heap-MB after each round, with the publications
// and subscriptions kept).
func BenchmarkOneUserAgainstTheCaps(b *testing.B) {
	db, err := store.Open(store.Config{Path: filepath.Join(b.TempDir(), "b.db"), BatchDelay: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := presence.New(presence.DefaultConfig(), db, &recorder{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := svc.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	note := `<note>` + strings.Repeat("x", 60<<10-400) + `</note>`
	body := []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + alice + `"><tuple id="t1"><status><basic>open</basic></status></tuple>` + note + `</presence>`)
	ctx := context.Background()
	var refused int
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		round++
		for range 500 {
			_, err := svc.Publish(ctx, presence.PublishRequest{Presentity: alice, Expires: dur(time.Hour), Body: body})
			var limit *presence.LimitError
			if errors.As(err, &limit) {
				refused++
			} else if err != nil {
				b.Fatal(err)
			}
		}
		for i := range 10000 {
			_, _, err := svc.Subscribe(ctx, presence.SubscribeRequest{ID: fmt.Sprintf("r%d-%d", round, i),
				Presentity: fmt.Sprintf("sip:u%d@example.com", i), Watcher: "sip:mallory@example.com", Expires: dur(time.Hour)})
			var limit *presence.LimitError
			if errors.As(err, &limit) {
				refused++
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	st := svc.Stats()
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(st.Publications), "publications")
	b.ReportMetric(float64(st.Subscriptions), "subscriptions")
	b.ReportMetric(float64(refused)/float64(round), "refused/round")
}
