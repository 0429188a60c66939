// Package media relays audio between the two legs of a bridged call: the
// browser leg (pion/webrtc, DTLS-SRTP) and the SIP leg (plain RTP with
// pion/rtp).
//
// So far it holds the Rewriter, which gives each direction one outgoing
// stream whose sequence numbers and timestamps never go backwards, across
// hold and changes of source. The relay and the WebRTC leg come with the
// "talk now" issue.
package media
