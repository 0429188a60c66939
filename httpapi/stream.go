package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol/http1/resp"
	"github.com/cloudwego/hertz/pkg/route"
)

// heartbeat keeps idle streams open through proxies, and finds dead clients.
const heartbeat = 15 * time.Second

// streamRoutes serves GET /v1/availability/stream: Server-Sent Events, one
// "availability" event per new snapshot, carrying the same JSON as
// /v1/availability, with the snapshot's id as event id. A client that
// reconnects with Last-Event-ID naming the current snapshot gets nothing
// until the next one; any other id gets the current snapshot at once.
func streamRoutes(r *route.RouterGroup, snaps *Snapshots, web WebConfig) {
	r.GET("/v1/availability/stream", func(ctx context.Context, c *app.RequestContext) {
		cors(c, web.AllowedOrigins)
		c.Response.Header.Set("Cache-Control", "no-cache")
		send := eventStream(c)
		// The retry hint goes out at once, and with it the headers: a
		// resuming client learns it is connected before any event.
		if !send("retry: %d\n\n", web.RefreshInterval.Milliseconds()) {
			return
		}
		last, _ := strconv.ParseUint(string(c.GetHeader("Last-Event-ID")), 10, 64)
		beat := time.NewTicker(heartbeat)
		defer beat.Stop()
		for {
			snap := snaps.cur.Load()
			if snap.id != last {
				if !send("id: %d\nevent: availability\ndata: %s\n\n", snap.id, snap.all.body) {
					return
				}
				last = snap.id
			}
			select {
			case <-snap.next:
			case <-beat.C:
				if !send(": heartbeat\n\n") {
					return
				}
			case <-snaps.done:
				return
			case <-ctx.Done():
				return
			}
		}
	})
}

// eventStream starts a text/event-stream answer and returns the function
// that writes one formatted chunk and flushes it, false once the client
// is gone.
func eventStream(c *app.RequestContext) func(format string, args ...any) bool {
	c.SetStatusCode(http.StatusOK)
	c.Response.Header.Set("Content-Type", "text/event-stream")
	c.Response.Header.Set("X-Accel-Buffering", "no")
	w := resp.NewChunkedBodyWriter(&c.Response, c.GetWriter())
	c.Response.HijackWriter(w)
	return func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return w.Flush() == nil
	}
}
