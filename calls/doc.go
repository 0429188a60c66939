// Package calls runs the visitors' "Talk now" calls: each call waits in
// its group's queue (acd), is offered to the agent the ACD routes it to,
// and once the agent answers its media is bridged until either side hangs
// up.
//
//	Place ─▶ queued ─▶ (Route) ─▶ ringing ─▶ talking ─▶ ended
//	            ▲                    │
//	            └── agent missed ────┘
//
// The package knows no transport: a MediaEngine answers the visitor's
// offer (pion/webrtc in media/) and a Dialer places the agent's leg (the
// SIP B2BUA in sip/).
package calls
