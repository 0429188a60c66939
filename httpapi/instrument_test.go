package httpapi

import (
	"context"
	"testing"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/cloudwego/hertz/pkg/route"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Requests are counted and timed by the route pattern that took them,
// never by their path; no route is "unmatched", an invented method
// "other".
func TestRequestMetrics_LabelByRoutePattern(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := route.NewEngine(config.NewOptions(nil))
	e.Use(newRequestMetrics(reg).handler())
	e.GET("/v1/calls/:id", func(_ context.Context, c *app.RequestContext) { c.String(200, "call") })
	e.POST("/v1/calls", func(_ context.Context, c *app.RequestContext) { c.String(503, "full") })
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/calls/abc"}, {"GET", "/v1/calls/def"}, {"POST", "/v1/calls"},
		{"GET", "/v1/nothing-here"}, {"BREW", "/v1/calls/abc"},
	} {
		ut.PerformRequest(e, r.method, r.path, nil)
	}
	counts, timed := scrape(t, reg)
	for series, want := range map[string]float64{
		"GET /v1/calls/:id 200": 2,
		"POST /v1/calls 503":    1,
		"GET unmatched 404":     1,
	} {
		if got := counts[series]; got != want {
			t.Errorf("switchboard_http_requests_total %s: %v, want %v (all: %v)", series, got, want, counts)
		}
	}
	if len(counts) != 4 {
		t.Errorf("series %v, want 4: the paths' ids must not be labels", counts)
	}
	if counts["other /v1/calls/:id 405"]+counts["other unmatched 405"]+counts["other unmatched 404"] != 1 {
		t.Errorf("no request with an invented method labelled other in %v", counts)
	}
	if timed["GET /v1/calls/:id"] != 2 || timed["POST /v1/calls"] != 1 {
		t.Errorf("switchboard_http_request_duration_seconds sample counts %v", timed)
	}
}

// scrape returns the request counts by "method route code" and the
// latency histograms' sample counts by "method route".
func scrape(t *testing.T, reg *prometheus.Registry) (counts, timed map[string]float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts, timed = map[string]float64{}, map[string]float64{}
	label := func(m *dto.Metric, names ...string) string {
		s := ""
		for _, n := range names {
			for _, l := range m.GetLabel() {
				if l.GetName() == n {
					s += " " + l.GetValue()
				}
			}
		}
		return s[1:]
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "switchboard_http_requests_total":
				counts[label(m, "method", "route", "code")] = m.GetCounter().GetValue()
			case "switchboard_http_request_duration_seconds":
				timed[label(m, "method", "route")] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return counts, timed
}
