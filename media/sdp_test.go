package media

import (
	"net/netip"
	"strings"
	"testing"
)

const phoneAnswer = "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\na=sendonly\r\n"

func TestParseRemote_AddressEventsAndDirection(t *testing.T) {
	r, err := parseRemote([]byte(phoneAnswer), pcmu)
	if err != nil {
		t.Fatal(err)
	}
	if r.rtp != netip.MustParseAddrPort("192.0.2.10:4000") || r.rtcp.Port() != 4001 || r.eventPT != 96 || r.direction != sendonly {
		t.Errorf("got %+v", r)
	}
	if _, err := parseRemote([]byte(phoneAnswer), pcma); err == nil || !strings.Contains(err.Error(), "PCMA") {
		t.Errorf("PCMA not offered: %v", err)
	}
	hold := strings.Replace(phoneAnswer, "c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0", 1)
	if r, _ := parseRemote([]byte(hold), pcmu); r.direction != inactive {
		t.Errorf("c=0.0.0.0 (RFC 2543 hold) read as %s", r.direction)
	}
	rejected := strings.Replace(phoneAnswer, "m=audio 4000", "m=audio 0", 1)
	if _, err := parseRemote([]byte(rejected), pcmu); err == nil {
		t.Error("port 0 accepted")
	}
}

func TestMirror_AnswersTheOfferedDirection(t *testing.T) {
	for offered, want := range map[string]string{sendonly: recvonly, recvonly: sendonly, inactive: inactive, sendrecv: sendrecv} {
		if got := mirror(offered); got != want {
			t.Errorf("mirror(%s) = %s, want %s", offered, got, want)
		}
	}
}

func TestLocalSDP_ParsesBack(t *testing.T) {
	b := localSDP(7, 2, netip.MustParseAddr("198.51.100.1"), 20000, pcma, eventPT, recvonly)
	r, err := parseRemote(b, pcma)
	if err != nil {
		t.Fatal(err)
	}
	if r.rtp != netip.MustParseAddrPort("198.51.100.1:20000") || r.eventPT != eventPT || r.direction != recvonly {
		t.Errorf("got %+v from\n%s", r, b)
	}
}

func TestReadOffer(t *testing.T) {
	offer := func(formats, maps string) string {
		return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF " + formats + "\r\n" +
			"c=IN IP4 0.0.0.0\r\n" + maps
	}
	// Chrome 120+: telephone-event at 48 kHz (110) before the one at 8 kHz (126).
	chrome := offer("111 63 9 0 8 13 110 126", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\n"+
		"a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n"+
		"a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n")
	for name, tc := range map[string]struct {
		sdp  string
		want browserOffer
		err  string
	}{
		"chrome":          {chrome, browserOffer{law: pcmu, eventPT: 126}, ""},
		"no final CRLF":   {lenient(strings.TrimSuffix(chrome, "\r\n")), browserOffer{law: pcmu, eventPT: 126}, ""},
		"LF only":         {strings.ReplaceAll(chrome, "\r\n", "\n"), browserOffer{law: pcmu, eventPT: 126}, ""},
		"PCMA first":      {offer("8 0 101", "a=rtpmap:101 telephone-event/8000\r\n"), browserOffer{law: pcma, eventPT: 101}, ""},
		"no DTMF (pion)":  {offer("111 9 0 8", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:9 G722/8000\r\n"), browserOffer{law: pcmu, eventPT: -1}, ""},
		"opus only":       {offer("111", "a=rtpmap:111 opus/48000/2\r\n"), browserOffer{}, "no usable codec"},
		"garbage":         {"hello", browserOffer{}, "malformed"},
		"strict, no CRLF": {strings.TrimSuffix(chrome, "\r\n"), browserOffer{}, "malformed"},
	} {
		got, err := readOffer(tc.sdp)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v", name, got, err, tc.want)
		}
	}
}

// FuzzSDP feeds both parsers anything: an answer or an error, never a
// panic, and an accepted remote always has an address.
func FuzzSDP(f *testing.F) {
	f.Add(phoneAnswer)
	f.Add(string(localSDP(1, 1, netip.MustParseAddr("::1"), 30000, pcmu, -1, sendrecv)))
	f.Add("v=0\r\nm=audio 1 RTP/AVP 0\r\na=rtcp:\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		readOffer(lenient(s))
		if r, err := parseRemote([]byte(s), pcmu); err == nil && !r.rtp.IsValid() {
			t.Errorf("accepted without an address: %+v", r)
		}
	})
}
