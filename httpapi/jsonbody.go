package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/prometheus/client_golang/prometheus"
)

// limitBody refuses a body larger than max with 413 and a JSON error
// saying the connection closes: by its Content-Length, before reading any
// of it, or, for a chunked body, once max bytes have come. Hertz sends the
// answer at once, then discards what the client still sends (up to
// http.read_timeout) and closes. A body within the limit is read whole for
// the handlers.
func limitBody(max int, refused *prometheus.CounterVec) app.HandlerFunc {
	tooLarge := func(c *app.RequestContext) {
		refused.WithLabelValues("http.max_body_bytes").Inc()
		c.SetConnectionClose()
		writeError(c, http.StatusRequestEntityTooLarge, "too_large",
			"the body is larger than "+strconv.Itoa(max)+" bytes (http.max_body_bytes)")
		c.Abort()
	}
	return func(ctx context.Context, c *app.RequestContext) {
		if !c.Request.IsBodyStream() {
			return
		}
		if c.Request.Header.ContentLength() > max {
			tooLarge(c)
			return
		}
		body, err := io.ReadAll(io.LimitReader(c.Request.BodyStream(), int64(max)+1))
		switch {
		case len(body) > max:
			tooLarge(c)
		case err != nil:
			c.SetConnectionClose()
			writeError(c, http.StatusBadRequest, "bad_body", "the body could not be read: "+err.Error())
			c.Abort()
		default:
			c.Request.SetBody(body)
		}
	}
}

// readJSON decodes the request's JSON body into v. A body that is not
// declared application/json gets 415, one that does not decode 400, both
// with a JSON error, and readJSON reports false.
func readJSON(c *app.RequestContext, v any) bool {
	if mt, _, err := mime.ParseMediaType(string(c.ContentType())); err != nil || mt != "application/json" {
		writeError(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
		return false
	}
	if err := json.Unmarshal(c.Request.Body(), v); err != nil {
		writeError(c, http.StatusBadRequest, "bad_json", "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}
