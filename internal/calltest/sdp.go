package calltest

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Directions of SDP media.
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// AudioOffer is what an Agent reads in an SDP offer's audio section.
type AudioOffer struct {
	Addr      *net.UDPAddr // c= address and m= port
	PT        uint8        // the first G.711 payload type offered
	Codec     string       // PCMU or PCMA
	EventPT   int          // telephone-event/8000 payload type, -1 when not offered
	Direction string       // sendrecv when not given
}

// ParseAudioOffer reads the first audio section of an SDP offer: its
// first G.711 codec at 8000 Hz, its telephone-event payload type, address
// and direction.
func ParseAudioOffer(body string) (*AudioOffer, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(body); err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		o := &AudioOffer{EventPT: -1, Direction: Direction(&sd, md)}
		names := rtpmaps(md)
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 8)
			if err != nil {
				continue
			}
			name := names[uint8(pt)]
			switch {
			case o.Codec == "" && lawOf(name) != lawNone:
				o.PT, o.Codec = uint8(pt), lawOf(name).String()
			case o.EventPT < 0 && strings.EqualFold(name, "telephone-event"):
				o.EventPT = int(pt)
			}
		}
		if o.Codec == "" {
			return nil, fmt.Errorf("sdp: no G.711 codec offered in %v", md.MediaName.Formats)
		}
		conn := md.ConnectionInformation
		if conn == nil {
			conn = sd.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return nil, fmt.Errorf("sdp: no connection address")
		}
		ip := net.ParseIP(conn.Address.Address)
		if ip == nil {
			return nil, fmt.Errorf("sdp: connection address %q is no IP", conn.Address.Address)
		}
		o.Addr = &net.UDPAddr{IP: ip, Port: md.MediaName.Port.Value}
		return o, nil
	}
	return nil, fmt.Errorf("sdp: no audio section")
}

// Direction returns the direction attribute of a media section, else of
// the session, else sendrecv.
func Direction(sd *sdp.SessionDescription, md *sdp.MediaDescription) string {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case SendRecv, SendOnly, RecvOnly, Inactive:
				return a.Key
			}
		}
	}
	return SendRecv
}

// AudioDirection returns the direction of the first audio section of an
// SDP body.
func AudioDirection(body string) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(body); err != nil {
		return "", fmt.Errorf("sdp: %w", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media == "audio" {
			return Direction(&sd, md), nil
		}
	}
	return "", fmt.Errorf("sdp: no audio section")
}

// Mirror returns the direction that answers an offered one: sendonly gets
// recvonly, recvonly sendonly, inactive inactive, else sendrecv.
func Mirror(dir string) string {
	switch dir {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// audioSDP is a plain RTP/AVP audio description on 127.0.0.1.
func audioSDP(sessID, version uint64, port int, pt uint8, codec string, eventPT int, dir string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=calltest %d %d IN IP4 127.0.0.1\r\ns=calltest\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", sessID, version)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP %d", port, pt)
	if eventPT >= 0 {
		fmt.Fprintf(&b, " %d", eventPT)
	}
	fmt.Fprintf(&b, "\r\na=rtpmap:%d %s/8000\r\n", pt, codec)
	if eventPT >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", eventPT, eventPT)
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return []byte(b.String())
}
