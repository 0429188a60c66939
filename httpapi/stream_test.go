package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// event is one Server-Sent Event read from a stream.
type event struct{ id, name, data string }

// openStream connects to the availability stream and returns its events.
func openStream(t *testing.T, base, lastID string) <-chan event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/availability/stream", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	var res *http.Response
	siptest.WaitFor(t, "stream open", func() bool {
		var err error
		res, err = noKeepAlive.Do(req)
		return err == nil
	})
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan event, 16)
	go func() {
		defer res.Body.Close()
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		var e event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					events <- e
				}
				e = event{}
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			}
		}
	}()
	return events
}

func next(t *testing.T, events <-chan event) event {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("stream closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return event{}
	}
}

func TestStream_OneEventPerChangedSnapshotAndResume(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	events := openStream(t, base, "")
	first := next(t, events)
	if first.name != "availability" || !strings.Contains(first.data, `"status":"full"`) || first.id == "" {
		t.Fatalf("first event: %+v", first)
	}
	open := billing
	open.Available, open.Accepting = 1, true
	g.set(open)
	second := next(t, events)
	if !strings.Contains(second.data, `"status":"open"`) || second.id == first.id {
		t.Fatalf("after the change: %+v", second)
	}

	// A client resuming at the current snapshot waits for the next one.
	resumed := openStream(t, base, second.id)
	g.set(billing)
	if e := next(t, resumed); !strings.Contains(e.data, `"status":"full"`) {
		t.Fatalf("resumed stream's first event: %+v", e)
	}
}
