package presence_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard/switchboard/presence"
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
	runtime.KeepAlive(svc)
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
