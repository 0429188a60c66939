// Package media holds the media of calls: the browser leg (pion/webrtc,
// DTLS-SRTP), plain RTP legs toward SIP phones and trunks (pion/rtp), and
// the relay between them, without transcoding or buffering; and the
// agents' browser softphones (docs/softphone.md). It implements
// calls.MediaEngine, calls.Media, calls.PhoneMedia and calls.Softphones.
//
//	browser ─SRTP─▶ Session.onTrack ─Rewriter─▶ plainLeg ─RTP─▶ phone
//	browser ◀─SRTP─ relayTrack ◀─Rewriter─ Session.fromPhone ◀─RTP─ phone
//
// A softphone is the agent's phone in the console: one persistent WebRTC
// connection per agent, whose per-call leg answers the call's plain RTP
// offer as a phone would, so a visitor's Session relays to it unchanged:
//
//	visitor ─▶ Session ─RTP─▶ softLeg.plain ─fromPlain─▶ Softphone.track ─SRTP─▶ console
//	visitor ◀─ Session ◀─RTP─ softLeg.plain ◀─fromBrowser─ Softphone.onTrack ◀─SRTP─ console
//
// Files, one concept each:
//
//   - engine.go: Engine, which answers a browser's offer with a Session
//     (pion's API, codecs and ICE settings) and caps the calls relayed at
//     once, Sessions, Bridges and softphones together (Config.MaxCalls:
//     past it calls.ErrMediaFull);
//   - session.go: Session, one Talk now call (negotiation, both relay
//     directions, timeouts, RTCP reports);
//   - restart.go: the browser's ICE restart after a network change,
//     answered on the same connection (one at a time, at most
//     media.ice.max_restarts per call; media.timeout still bounds the
//     time without a working path);
//   - track.go: relayTrack, the browser leg's outgoing track that keeps
//     each packet's payload type (audio or RFC 4733 events);
//   - browser.go: answering a browser's offer (no trickle), shared by
//     Sessions and softphones;
//   - chat.go: the "chat" data channel, plain text or JSON with receipts;
//   - softphone.go: Softphones, the agents' browser softphones (one each,
//     a new one replacing the old; live while the control channel is
//     open, reported to an observer: the ACD's device), and Softphone,
//     one persistent connection;
//   - softphone_leg.go: softLeg, one call on a softphone (Dial: ring,
//     answer or decline, the plain leg and both relay directions);
//   - softphone_control.go: the "softphone" data channel's JSON messages
//     (ring, cancel, talking, ended, message, replaced; answer, decline,
//     hangup, message);
//   - softphone_chat.go: a visitor's chat before a call on that channel
//     (chat, chat-typing both ways), the chats' Messenger for an agent
//     working in the browser;
//   - sdp.go: reading the browser's offer (law, telephone-event payload
//     type) and the phones' SDP, writing ours;
//   - plain.go, ports.go: a plain RTP/RTCP socket pair with symmetric
//     latching, from a port range;
//   - bridge.go: Bridge, the two plain legs of a callback (agent and trunk);
//   - ringback.go: the ringback tone a callback's agent hears;
//   - hold.go: Session.Hold, the console's hold (the visitor hears a hold
//     tone through the browser leg's one Rewriter, the phone silence),
//     and Session.Disconnect between the agents of a transfer;
//   - rewriter.go: Rewriter, one outgoing stream per direction whose
//     sequence numbers and timestamps never go backwards, across hold and
//     changes of source;
//   - rtcp.go: our own RTCP sender reports with RFC 3550 reception blocks.
//
// Caveats: ICE restarts come from the browser only (it sees its network
// change); G.711 only (the first law of the browser's offer on both legs;
// a softphone takes only the calls in its own law, as a phone would);
// no trickle ICE; the answer keeps the offer's payload type numbers (RFC
// 3264 §6.1), and a packet of a payload type nobody negotiated is dropped
// without ending the relay.
package media
