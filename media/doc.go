// Package media relays audio between the browser leg (pion/webrtc, DTLS-SRTP)
// and the SIP leg (plain RTP with pion/rtp) of a bridged call.
//
// It is still empty: the presence server comes first.
package media
