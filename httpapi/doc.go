// Package httpapi is Switchboard's HTTP facade, on Hertz: the availability
// API and its event stream, the widget and demo page, the visitor context
// cookie, the calls and callbacks APIs with their limits (the client
// address from the socket unless a trusted proxy says otherwise; JSON
// bodies only, refused past http.max_body_bytes before they are read,
// jsonbody.go), the agent
// API and console, liveness (/healthz), readiness (/readyz) and the OpenAPI
// document. Prometheus /metrics is served by MetricsServer on a listener of
// its own (metrics.go), off the visitors' port.
package httpapi
