// Package calls runs the visitors' "Talk now" calls: each call waits in
// its group's queue (acd), is offered to the agent the ACD routes it to,
// and once the agent answers its media is bridged until either side hangs
// up.
//
//	Place ─▶ queued ─▶ (Route) ─▶ ringing ─▶ talking ─▶ ended
//	            ▲  ▲                 │  ▲         │
//	            │  └── agent missed ─┘  └─────────┤ transfer to an agent
//	            └─────────────────────────────────┘ transfer to a group
//
// While talking, the agent may hold the call from the console and
// transfer it blind (transfer.go: Hold, Transfer): the call keeps its id
// and its visitor's leg, which hears the hold tone while the next agent
// is found; the agent's leg is hung up and the agent wraps up. An agent
// who does not answer a transfer sends the call back to its group's
// queue, by its first arrival.
//
// Chats (chat.go) go the same way through the queue: a chat's agent is
// busy with it, its text goes to the agent's phone through a Messenger,
// and a call the visitor places from the chat goes to the chat's agent
// ahead of the queue (acd Handover). Callbacks (callbacks.go, attempt.go)
// go the same way through the queue; an attempt rings the agent, then the
// visitor through a Trunk, and a busy or unreached visitor is retried
// after retry_spacing.
//
// The package knows no transport: it consumes the ACD through the small
// ACD interface, a MediaEngine answers the visitor's offer (pion/webrtc in
// media/), a Dialer places the agent's leg and a Trunk the visitor's (the
// SIP B2BUA in sip/), a Bridger gives callbacks their RTP legs.
// Devices (devices.go) is the Dialer and chats' Messenger of agents with
// two kinds of device: the browser softphone in the agent console while
// one is connected (Softphones, media/), else the SIP phone. Each agent's
// contacts of the day are kept in memory for its console (history.go).
//
// For the process's metrics, Stats counts calls, chats and callbacks
// since start, and an Observer (observer.go) hears each answered ring's
// and each bridged leg's duration; the package itself knows no metrics
// library.
package calls
