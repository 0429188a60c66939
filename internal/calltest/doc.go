// Package calltest holds the test peers of "Talk now" calls (docs/calls.md):
// a Browser (a pion/webrtc peer offering G.711, telephone-event and a chat
// data channel, sending a tone and hearing what comes back) and an Agent (a
// SIP phone that registers, answers, rejects or rings, echoes RTP, records
// RFC 4733 digits and chat MESSAGEs, and can hang up, hold and resume);
// and a Relay, a UDP path between the two sides of ICE that a test cuts
// (relay.go).
//
// Both run on 127.0.0.1 only. The core API takes contexts and returns
// errors so that it serves go test and the load benchmark alike; testing.go
// adds thin helpers for tests.
package calltest
