package calltest

import (
	"math"
	"testing"
)

func tone(freq float64, n int) []int16 {
	t := Tone{Freq: freq, Level: DefaultToneDBFS}
	buf := make([]int16, n)
	t.Next(buf)
	return buf
}

func TestGoertzel_DetectsTheToneOnly(t *testing.T) {
	s := tone(1000, 1600)
	if r := Goertzel(s, SampleRate, 1000); r < 0.95 {
		t.Errorf("1 kHz in a 1 kHz tone: %.3f, want ~1", r)
	}
	for _, f := range []float64{500, 1400, 2000} {
		if r := Goertzel(s, SampleRate, f); r > 0.02 {
			t.Errorf("%g Hz in a 1 kHz tone: %.3f, want ~0", f, r)
		}
	}
	if r := Goertzel(make([]int16, 1600), SampleRate, 1000); r != 0 {
		t.Errorf("silence: %.3f, want 0", r)
	}
	if r := Goertzel(nil, SampleRate, 1000); r != 0 {
		t.Errorf("no samples: %.3f, want 0", r)
	}
}

func TestGoertzel_ThroughG711AndOffBin(t *testing.T) {
	for _, l := range []law{lawPCMU, lawPCMA} {
		for _, f := range []float64{1000, 697, 1633} { // 697 and 1633: no whole number of cycles in 200 ms
			s := l.decode(nil, l.encode(nil, tone(f, 1600)))
			if r := Goertzel(s, SampleRate, f); r < 0.9 {
				t.Errorf("%s %g Hz: %.3f, want ~1", l, f, r)
			}
			if r := Goertzel(s, SampleRate, f/2); r > 0.05 {
				t.Errorf("%s %g Hz heard in a %g Hz tone: %.3f", l, f/2, f, r)
			}
		}
	}
}

func TestGoertzel_ToneInNoiseAndMixes(t *testing.T) {
	a, b := tone(1000, 1600), tone(500, 1600)
	mix := make([]int16, len(a))
	for i := range a {
		mix[i] = a[i]/2 + b[i]/2
	}
	for _, f := range []float64{1000, 500} {
		if r := Goertzel(mix, SampleRate, f); math.Abs(r-0.5) > 0.05 {
			t.Errorf("%g Hz in an even mix: %.3f, want ~0.5", f, r)
		}
	}
}

func TestTone_LevelAndContinuity(t *testing.T) {
	tn := Tone{Freq: 1000, Level: -10}
	a, b := make([]int16, 160), make([]int16, 160)
	tn.Next(a)
	tn.Next(b)
	if l := LevelDBFS(append(a, b...)); math.Abs(l+10) > 0.2 {
		t.Errorf("level %.2f dBFS, want -10", l)
	}
	// 1 kHz at 8 kHz repeats every 8 samples: the second packet goes on
	// where the first stopped.
	for i := range a {
		if d := int(a[i]) - int(b[i]); d < -1 || d > 1 {
			t.Fatalf("sample %d: %d then %d, want a continuous phase", i, a[i], b[i])
		}
	}
	if !math.IsInf(LevelDBFS(nil), -1) {
		t.Error("level of nothing is not -inf")
	}
}

func TestTelephoneEvent_RoundTripAndDigits(t *testing.T) {
	for i, d := range "0123456789*#ABCD" {
		ev, ok := DTMFEvent(d)
		if !ok || int(ev) != i {
			t.Fatalf("DTMFEvent(%q) = %d %v", d, ev, ok)
		}
		if back, ok := DTMFDigit(ev); !ok || back != d {
			t.Fatalf("DTMFDigit(%d) = %q %v", ev, back, ok)
		}
	}
	if _, ok := DTMFEvent('x'); ok {
		t.Error("x is a digit")
	}
	if _, ok := DTMFDigit(16); ok {
		t.Error("flash is a digit")
	}
	in := TelephoneEvent{Event: 11, End: true, Volume: 10, Duration: 800}
	out, err := ParseTelephoneEvent(in.Marshal())
	if err != nil || out != in {
		t.Fatalf("round trip: %+v %v, want %+v", out, err, in)
	}
	if _, err := ParseTelephoneEvent([]byte{1, 2}); err == nil {
		t.Error("short payload parsed")
	}
	if checkDigits("12#a") != nil || checkDigits("1x") == nil || checkDigits("") == nil {
		t.Error("checkDigits")
	}
}

func TestParseAudioOffer(t *testing.T) {
	const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 20000 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendonly\r\n"
	o, err := ParseAudioOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if o.PT != 8 || o.Codec != "PCMA" || o.EventPT != 101 || o.Direction != SendOnly || o.Addr.String() != "127.0.0.1:20000" {
		t.Fatalf("offer: %+v", o)
	}
	answer := string(audioSDP(1, 2, 30000, o.PT, o.Codec, o.EventPT, Mirror(o.Direction)))
	a, err := ParseAudioOffer(answer)
	if err != nil {
		t.Fatal(err)
	}
	if a.PT != 8 || a.EventPT != 101 || a.Direction != RecvOnly || a.Addr.Port != 30000 {
		t.Fatalf("answer: %+v\n%s", a, answer)
	}
	if _, err := ParseAudioOffer("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 9\r\n"); err == nil {
		t.Error("an offer without G.711 was accepted")
	}
}
