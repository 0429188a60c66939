// Package httpapi is Switchboard's HTTP facade, on Hertz: the availability
// API and its event stream, the widget, its demo support page and
// embedding docs, the visitor context cookie, the calls, chats (chats.go) and callbacks APIs with their
// limits (the client
// address from the socket unless a trusted proxy says otherwise; JSON
// bodies only, refused past http.max_body_bytes before they are read,
// jsonbody.go), the agent
// API and console with the agent's browser softphone (softphone.go: its
// offer and answer; rings go over its own data channel, media/) and
// the console's hold and blind transfer of the agent's call (agentcall.go),
// liveness (/healthz), readiness (/readyz) and the OpenAPI
// document. Prometheus /metrics is served by MetricsServer on a listener of
// its own (metrics.go), off the visitors' port; a middleware counts and
// times every request by its route pattern (instrument.go).
//
// An availability event stream outlives its request: its handler sends the
// headers and the first event (stream.go), then hands the connection over
// to streams.go, whose one goroutine writes every later event and
// heartbeat to all streams (with a few helpers while an event goes to
// thousands, and one for a client that is behind, dropped past
// writeTimeout). An open stream so costs its socket and about half a
// kilobyte, no goroutine; over TLS, whose connection cannot leave Hertz,
// it keeps its handler's goroutine. Streams end when Server.Run returns
// (at Shutdown) or Snapshots.Run does.
package httpapi
