package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// codec is the G.711 law a call uses on both legs (no transcoding).
type codec struct {
	pt   uint8  // static payload type, RFC 3551
	name string // encoding name
}

var (
	pcmu = codec{0, "PCMU"}
	pcma = codec{8, "PCMA"}
)

// mime is the codec's MIME type in pion's terms.
func (c codec) mime() string { return "audio/" + c.name }

// eventPT is the telephone-event payload type we offer phones.
const eventPT = 101

// Directions of a media stream (RFC 4566 §6).
const (
	sendrecv = "sendrecv"
	sendonly = "sendonly"
	recvonly = "recvonly"
	inactive = "inactive"
)

// mirror is the direction that answers an offered one (RFC 3264 §6.1).
func mirror(dir string) string {
	switch dir {
	case sendonly:
		return recvonly
	case recvonly:
		return sendonly
	case inactive:
		return inactive
	}
	return sendrecv
}

// browserOffer is what the relay needs from a browser's offer: the law to
// answer with and the offer's own telephone-event payload type, which the
// answer must keep (RFC 3264 §6.1: Chrome offers 126, and sends events
// with whatever number the answer gives).
type browserOffer struct {
	law     codec
	eventPT int    // telephone-event/8000 in the offer; -1 none: no DTMF
	ufrag   string // the audio's ICE username fragment: a new one restarts ICE
}

// readOffer reads a browser's offer: the first G.711 format of its first
// audio section, and telephone-event/8000 if offered. It rejects what
// cannot be answered, saying why.
func readOffer(offer string) (browserOffer, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return browserOffer{}, fmt.Errorf("malformed SDP: %w", err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		o := browserOffer{eventPT: -1}
		for _, f := range m.MediaName.Formats {
			name := formatName(m, f)
			if o.law == (codec{}) {
				o.law = lawOf(name)
			}
			if pt, err := strconv.Atoi(f); err == nil && o.eventPT < 0 && isEvent8k(name) {
				o.eventPT = pt
			}
		}
		if o.law == (codec{}) {
			return browserOffer{}, errors.New("no usable codec: the audio offer has neither PCMU nor PCMA")
		}
		o.ufrag, _ = m.Attribute("ice-ufrag")
		if o.ufrag == "" {
			o.ufrag, _ = sd.Attribute("ice-ufrag")
		}
		return o, nil
	}
	return browserOffer{}, errors.New("no audio in the offer")
}

// lenient repairs what real clients get wrong in an SDP that pion's strict
// parser refuses: a missing final line end.
func lenient(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\r\n"
	}
	return s
}

// lawOf is the law of an rtpmap encoding ("PCMU/8000"), the zero codec for
// any other.
func lawOf(name string) codec {
	for _, c := range []codec{pcmu, pcma} {
		if strings.EqualFold(name, c.name+"/8000") {
			return c
		}
	}
	return codec{}
}

// isEvent8k tells an rtpmap encoding of telephone-event at 8 kHz.
func isEvent8k(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "telephone-event/8000")
}

// formatName is the encoding of format f of m ("PCMU/8000"), from its
// rtpmap or, for the static G.711 types, from RFC 3551.
func formatName(m *sdp.MediaDescription, f string) string {
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, name, ok := strings.Cut(a.Value, " ")
		if ok && pt == f {
			return name
		}
	}
	switch f {
	case "0":
		return "PCMU/8000"
	case "8":
		return "PCMA/8000"
	}
	return ""
}

// remote is what the agent's SDP says of its side of the plain leg.
type remote struct {
	rtp, rtcp netip.AddrPort
	eventPT   int // -1: no telephone-event
	direction string
}

// parseRemote reads the agent's answer or offer for the plain leg, which
// must accept law c.
func parseRemote(b []byte, c codec) (remote, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return remote{}, fmt.Errorf("malformed SDP: %w", err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		if m.MediaName.Port.Value == 0 {
			return remote{}, errors.New("audio rejected (port 0)")
		}
		r := remote{eventPT: -1, direction: direction(&sd, m)}
		has := false
		for _, f := range m.MediaName.Formats {
			name := formatName(m, f)
			switch {
			case strings.EqualFold(name, c.name+"/8000"):
				has = true
			case isEvent8k(name):
				if pt, err := strconv.Atoi(f); err == nil {
					r.eventPT = pt
				}
			}
		}
		if !has {
			return remote{}, fmt.Errorf("%s not accepted", c.name)
		}
		conn := m.ConnectionInformation
		if conn == nil {
			conn = sd.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return remote{}, errors.New("no connection address")
		}
		ip, err := netip.ParseAddr(conn.Address.Address)
		if err != nil {
			return remote{}, fmt.Errorf("connection address %q: %w", conn.Address.Address, err)
		}
		if ip.IsUnspecified() { // RFC 2543 hold: c=0.0.0.0
			r.direction = inactive
		}
		port := uint16(m.MediaName.Port.Value)
		r.rtp = netip.AddrPortFrom(ip, port)
		r.rtcp = netip.AddrPortFrom(ip, port+1)
		if v, ok := m.Attribute("rtcp"); ok && len(strings.Fields(v)) > 0 { // RFC 3605
			if p, err := strconv.Atoi(strings.Fields(v)[0]); err == nil && p > 0 && p < 65536 {
				r.rtcp = netip.AddrPortFrom(ip, uint16(p))
			}
		}
		return r, nil
	}
	return remote{}, errors.New("no audio section")
}

// direction is m's direction attribute, else the session's, else sendrecv.
func direction(sd *sdp.SessionDescription, m *sdp.MediaDescription) string {
	for _, attrs := range [][]sdp.Attribute{m.Attributes, sd.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case sendrecv, sendonly, recvonly, inactive:
				return a.Key
			}
		}
	}
	return sendrecv
}

// localSDP renders our side of a plain leg with one law.
func localSDP(sessID, version uint64, ip netip.Addr, port int, c codec, evPT int, dir string) []byte {
	return localSDPLaws(sessID, version, ip, port, []codec{c}, evPT, dir)
}

// localSDPLaws renders our side of a plain leg offering laws, in order of
// preference (RFC 4566, RFC 4733 §7.1.1).
func localSDPLaws(sessID, version uint64, ip netip.Addr, port int, laws []codec, evPT int, dir string) []byte {
	family := "IP4"
	if ip.Is6() {
		family = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=switchboard %d %d IN %s %s\r\ns=switchboard\r\nc=IN %s %s\r\nt=0 0\r\n",
		sessID, version, family, ip, family, ip)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", port)
	for _, c := range laws {
		fmt.Fprintf(&b, " %d", c.pt)
	}
	if evPT >= 0 {
		fmt.Fprintf(&b, " %d", evPT)
	}
	b.WriteString("\r\n")
	for _, c := range laws {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", c.pt, c.name)
	}
	if evPT >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", evPT, evPT)
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return []byte(b.String())
}

// parseAnswerLaw reads an answer to an offer of laws: the first of them
// it accepted, and its side.
func parseAnswerLaw(b []byte, laws []codec) (codec, remote, error) {
	var first error
	for _, law := range laws {
		r, err := parseRemote(b, law)
		if err == nil {
			return law, r, nil
		}
		if first == nil {
			first = err
		}
	}
	return codec{}, remote{}, first
}
