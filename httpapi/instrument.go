package httpapi

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/prometheus/client_golang/prometheus"
)

// requestMetrics counts and times every HTTP request, by the route
// pattern that served it ("/v1/calls/:id", never the path itself, so that
// ids do not grow the series), the method and the status code.
type requestMetrics struct {
	requests *prometheus.CounterVec   // by method, route and code
	duration *prometheus.HistogramVec // by method and route
}

// unmatchedRoute labels the requests no route took (404, 405).
const unmatchedRoute = "unmatched"

func newRequestMetrics(reg prometheus.Registerer) *requestMetrics {
	m := &requestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_http_requests_total",
			Help: `HTTP requests answered, by method, route pattern ("unmatched" for none) and status code.`},
			[]string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_http_request_duration_seconds",
			Help: "From an HTTP request's headers read to its handler's return, by method and route pattern; " +
				"an availability stream counts until its first event, when it is handed over.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}},
			[]string{"method", "route"}),
	}
	m.requests = registerOnce(reg, m.requests)
	m.duration = registerOnce(reg, m.duration)
	return m
}

// registerOnce registers c on reg (nil: nowhere) and returns it, or the
// collector registered before under the same name, as when a test starts
// two servers on one registry.
func registerOnce[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if prev, ok := already.ExistingCollector.(C); ok {
				return prev
			}
		}
		panic(err) // a clash of names between our own metrics: a bug
	}
	return c
}

// handler is the Hertz middleware, first in the chain so that it also
// times the requests the other middleware refuse.
func (m *requestMetrics) handler() app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		start := time.Now()
		c.Next(ctx)
		route := c.FullPath()
		if route == "" {
			route = unmatchedRoute
		}
		method := methodLabel(string(c.Method()))
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(method, route, strconv.Itoa(c.Response.StatusCode())).Inc()
	}
}

// methodLabel keeps the methods HTTP defines and names any other "other",
// so that clients cannot grow the series without bound.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}
