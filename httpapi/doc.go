// Package httpapi is Switchboard's HTTP facade, on Hertz:
//
//   - for websites: the availability API and its event stream, the
//     widget, its demo support page and embedding docs, the visitor
//     context cookie;
//   - for visitors (the ACD role): the calls (calls.go, with the ICE
//     restart), chats (chats.go) and callbacks (callbacks.go) APIs with
//     their limits (the client address from the socket unless a trusted
//     proxy says otherwise; JSON bodies only, refused past
//     http.max_body_bytes before they are read, jsonbody.go);
//   - for agents: the agent API (agents.go: state and away reasons), the
//     console with its browser softphone (softphone.go: its offer and
//     answer; rings go over its own data channel, media/), the hold and
//     blind transfer of the agent's call (agentcall.go), and the
//     agent's day;
//   - for supervisors: the supervisor view and its board's event stream
//     (supervisor.go);
//   - on a node whose ACD stands by while another node leads the
//     cluster's (standby.go), the ACD's routes (agents, calls, chats,
//     callbacks, supervisors) answer 503 naming the leader;
//   - for operators: liveness (/healthz), readiness (/readyz) and the
//     OpenAPI document. Prometheus /metrics is served by MetricsServer on
//     a listener of its own (metrics.go), off the visitors' port; a
//     middleware counts and times every request by its route pattern
//     (instrument.go).
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
