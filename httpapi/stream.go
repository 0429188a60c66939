package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/network"
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
//
// The handler answers the headers, the retry hint and that first event,
// then hands the connection to all (streams.go), which writes every later
// event: an open stream holds no handler.
func streamRoutes(r *route.RouterGroup, snaps *Snapshots, all *streams, web WebConfig) {
	retry := fmt.Appendf(nil, "retry: %d\n\n", web.RefreshInterval.Milliseconds())
	r.GET("/v1/availability/stream", func(_ context.Context, c *app.RequestContext) {
		cors(c, web.AllowedOrigins)
		c.Response.Header.Set("Cache-Control", "no-cache")
		w := startEvents(c)
		c.Response.HijackWriter(openBody{w})
		last, _ := strconv.ParseUint(string(c.GetHeader("Last-Event-ID")), 10, 64)
		// The retry hint goes out at once, and with it the headers: a
		// resuming client learns it is connected before any event.
		if _, err := w.Write(retry); err != nil {
			return
		}
		if snap := snaps.cur.Load(); snap.id != last {
			if _, err := w.Write(snap.event); err != nil {
				return
			}
			last = snap.id
		}
		if w.Flush() != nil {
			return
		}
		conn := c.GetConn()
		c.Hijack(func(network.Conn) { all.adopt(conn, last) })
	})
}

// availabilityEvent is the stream's event for the snapshot id with the
// document body.
func availabilityEvent(id uint64, body []byte) []byte {
	return fmt.Appendf(nil, "id: %d\nevent: availability\ndata: %s\n\n", id, body)
}

// startEvents answers 200 with a text/event-stream and returns the writer
// of its body, one chunk per Write, sent at Flush.
func startEvents(c *app.RequestContext) network.ExtWriter {
	c.SetStatusCode(http.StatusOK)
	c.Response.Header.Set("Content-Type", "text/event-stream")
	c.Response.Header.Set("X-Accel-Buffering", "no")
	return resp.NewChunkedBodyWriter(&c.Response, c.GetWriter())
}

// openBody is a chunked body that hertz leaves open when the handler
// returns: the stream's later chunks follow on the hijacked connection.
type openBody struct{ network.ExtWriter }

// Finalize writes no last chunk.
func (openBody) Finalize() error { return nil }

// eventStream starts a text/event-stream answer written by the handler
// itself, and returns the function that writes one formatted chunk and
// flushes it, false once the client is gone. The last chunk goes out when
// the handler returns.
func eventStream(c *app.RequestContext) func(format string, args ...any) bool {
	w := startEvents(c)
	c.Response.HijackWriter(w)
	return func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return w.Flush() == nil
	}
}
