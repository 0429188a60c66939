package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
)

// availabilityRoutes serves GET /v1/availability and
// GET /v1/availability/{group} from the current snapshot: no store, no SIP,
// one pointer load per poll.
func availabilityRoutes(r *route.RouterGroup, snaps *Snapshots, web WebConfig) {
	maxAge := "public, max-age=" + strconv.Itoa(int(web.RefreshInterval.Seconds()))
	serve := func(c *app.RequestContext, rep *representation) {
		cors(c, web.AllowedOrigins)
		c.Header("Vary", "Accept-Encoding, Origin")
		rep.serve(c, maxAge)
	}
	r.GET("/v1/availability", func(_ context.Context, c *app.RequestContext) {
		serve(c, snaps.cur.Load().all)
	})
	r.GET("/v1/availability/:group", func(_ context.Context, c *app.RequestContext) {
		rep := snaps.cur.Load().groups[c.Param("group")]
		if rep == nil {
			cors(c, web.AllowedOrigins)
			writeError(c, http.StatusNotFound, "unknown_group", "no group "+strconv.Quote(c.Param("group")))
			return
		}
		serve(c, rep)
	})
	preflight := func(_ context.Context, c *app.RequestContext) {
		if cors(c, web.AllowedOrigins) {
			c.Header("Access-Control-Allow-Methods", "GET, OPTIONS")
			c.Header("Access-Control-Allow-Headers", "If-None-Match")
			c.Header("Access-Control-Max-Age", "600")
		}
		c.Status(http.StatusNoContent)
	}
	r.OPTIONS("/v1/availability", preflight)
	r.OPTIONS("/v1/availability/:group", preflight)
}

// cors allows a configured origin (or any, with "*") to read the response,
// and reports whether it did; other origins get no CORS header at all.
func cors(c *app.RequestContext, allowed []string) bool {
	origin := string(c.GetHeader("Origin"))
	if origin == "" || !(slices.Contains(allowed, origin) || slices.Contains(allowed, "*")) {
		return false
	}
	c.Header("Access-Control-Allow-Origin", origin)
	c.Header("Access-Control-Expose-Headers", "ETag")
	return true
}
