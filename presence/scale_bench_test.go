package presence_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// memoryOnly is a Store that keeps nothing: what the benchmark weighs is
// the service's own heap, not bbolt's (whose pages are mapped, not heap).
type memoryOnly struct{}

func (memoryOnly) PutPublication(context.Context, presence.Publication, string) error { return nil }
func (memoryOnly) DeletePublication(context.Context, string, string) error            { return nil }
func (memoryOnly) PutSubscription(context.Context, presence.Subscription) error       { return nil }
func (memoryOnly) DeleteSubscription(context.Context, string) error                   { return nil }
func (memoryOnly) LoadPublications(context.Context, func(presence.Publication) error) error {
	return nil
}
func (memoryOnly) LoadSubscriptions(context.Context, func(presence.Subscription) error) error {
	return nil
}
func (memoryOnly) Counts(context.Context) (int, int, error) { return 0, 0, nil }

// BenchmarkStateScale publishes one ~300-byte PIDF document for each of
// n presentities and opens one subscription to each, and reports the heap
// they hold: heap-B/presentity, and the part beyond the document bytes
// (the body as published, and the document composed for watchers).
func BenchmarkStateScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				stateScale(b, n)
			}
		})
	}
}

func stateScale(b *testing.B, n int) {
	cfg := presence.DefaultConfig()
	cfg.Domains = []string{"example.com"}
	base := heapInuse()
	svc := presence.New(cfg, memoryOnly{}, &recorder{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer svc.Close()
	ctx := context.Background()
	docBytes := 0
	for i := range n {
		uri := fmt.Sprintf("sip:u%07d@example.com", i)
		body := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + uri +
			`"><tuple id="sipp"><status><basic>open</basic></status><note>available</note></tuple></presence>`)
		if _, err := svc.Publish(ctx, presence.PublishRequest{Presentity: uri, Expires: dur(time.Hour), ContentType: "application/pidf+xml", Body: body}); err != nil {
			b.Fatal(err)
		}
		doc, _ := svc.Document(uri)
		docBytes += len(body) + len(doc)
		if _, _, err := svc.Subscribe(ctx, presence.SubscribeRequest{ID: fmt.Sprintf("d%07d", i), Presentity: uri,
			Watcher: fmt.Sprintf("sip:w%07d@example.com", i), Expires: dur(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	held := heapInuse() - base
	b.ReportMetric(float64(held)/float64(n), "heap-B/presentity")
	b.ReportMetric(float64(int(held)-docBytes)/float64(n), "beyond-docs-B/presentity")
	reportRSS(b)
	runtime.KeepAlive(svc)
}

// reportRSS reports the process's resident memory once the garbage is
// collected and handed back, in MB ("rss-MB"): what a server holding the
// state would keep, the benchmark's own few megabytes included. Not
// reported where /proc/self/status is missing.
func reportRSS(b *testing.B) {
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB"))); err == nil {
				b.ReportMetric(float64(kb)/1024, "rss-MB")
			}
		}
	}
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkStateReload stores n presentities, each with one ~215-byte PIDF
// document and one subscription (a ~200-byte dialog), in a bbolt file,
// then starts a Service on it and reports how long Load took (ready-s:
// the time from start to serving) and the heap the loaded state holds.
func BenchmarkStateReload(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db, err := store.Open(store.Config{Path: filepath.Join(b.TempDir(), "reload.db"), BatchDelay: 10 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			fill(b, db, n)
			for b.Loop() {
				base := heapInuse()
				start := time.Now()
				svc := presence.New(presence.DefaultConfig(), db, &recorder{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err := svc.Load(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "ready-s")
				b.ReportMetric(float64(heapInuse()-base)/float64(n), "heap-B/presentity")
				reportRSS(b)
				if st := svc.Stats(); st.Publications != n || st.Subscriptions != n {
					b.Fatalf("loaded %d publications, %d subscriptions; want %d of each", st.Publications, st.Subscriptions, n)
				}
				svc.Close()
			}
		})
	}
}

// fill stores n publications and n subscriptions, from many goroutines
// so that they share commits.
func fill(b *testing.B, db *store.DB, n int) {
	ctx := context.Background()
	dialog := []byte(strings.Repeat("d", 200))
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 512
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				uri := fmt.Sprintf("sip:u%07d@example.com", i)
				body := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + uri +
					`"><tuple id="sipp"><status><basic>open</basic></status><note>available</note></tuple></presence>`)
				err := db.PutPublication(ctx, presence.Publication{Presentity: uri, Event: presence.EventPresence, ETag: fmt.Sprintf("e%07d", i),
					Expires: time.Now().Add(time.Hour), ContentType: "application/pidf+xml", Body: body, Seq: uint64(i + 1)}, "")
				if err == nil {
					err = db.PutSubscription(ctx, presence.Subscription{ID: fmt.Sprintf("d%07d", i), Presentity: uri, Event: presence.EventPresence,
						Watcher: fmt.Sprintf("sip:w%07d@example.com", i), Expires: time.Now().Add(time.Hour), Dialog: dialog})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
