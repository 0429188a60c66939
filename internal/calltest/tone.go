package calltest

import (
	"math"
	"strings"

	"github.com/zaf/g711"
)

// SampleRate is the G.711 sample rate.
const SampleRate = 8000

// samplesPerPacket is 20 ms of G.711.
const samplesPerPacket = 160

// Goertzel returns the share of the energy of samples that lies at freq:
// about 1 for a pure tone at freq, about 0 when freq is absent, 0 for
// silence or no samples.
func Goertzel(samples []int16, sampleRate, freq float64) float64 {
	n := len(samples)
	if n == 0 || sampleRate <= 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/sampleRate)
	var s1, s2, energy float64
	for _, x := range samples {
		v := float64(x)
		s0 := v + coeff*s1 - s2
		s2, s1 = s1, s0
		energy += v * v
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2 // |X(freq)|²
	return math.Min(1, 2*power/(float64(n)*energy))
}

// LevelDBFS returns the RMS level of samples in dBFS, a full-scale sine
// being 0 dBFS; -inf for silence.
func LevelDBFS(samples []int16) float64 {
	if len(samples) == 0 {
		return math.Inf(-1)
	}
	var energy float64
	for _, x := range samples {
		energy += float64(x) * float64(x)
	}
	rms := math.Sqrt(energy / float64(len(samples)))
	return 20 * math.Log10(rms*math.Sqrt2/32767)
}

// Tone generates a continuous sine, packet after packet.
type Tone struct {
	Freq  float64 // Hz; 0 is silence
	Level float64 // dBFS of the sine's peak
	phase float64
}

// Next fills buf with the next samples of the tone.
func (t *Tone) Next(buf []int16) {
	amp := 32767 * math.Pow(10, t.Level/20)
	step := 2 * math.Pi * t.Freq / SampleRate
	for i := range buf {
		if t.Freq == 0 {
			buf[i] = 0
			continue
		}
		buf[i] = int16(math.Round(amp * math.Sin(t.phase)))
		t.phase += step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
}

// law is a G.711 variant.
type law int

const (
	lawNone law = iota
	lawPCMU
	lawPCMA
)

// lawOf maps an encoding name (PCMU, PCMA, any case) to its law.
func lawOf(name string) law {
	switch {
	case strings.EqualFold(name, "PCMU"):
		return lawPCMU
	case strings.EqualFold(name, "PCMA"):
		return lawPCMA
	}
	return lawNone
}

func (l law) String() string {
	switch l {
	case lawPCMU:
		return "PCMU"
	case lawPCMA:
		return "PCMA"
	}
	return "none"
}

// encode appends the G.711 encoding of samples to dst.
func (l law) encode(dst []byte, samples []int16) []byte {
	for _, s := range samples {
		if l == lawPCMA {
			dst = append(dst, g711.EncodeAlawFrame(s))
		} else {
			dst = append(dst, g711.EncodeUlawFrame(s))
		}
	}
	return dst
}

// decode appends the samples of a G.711 payload to dst.
func (l law) decode(dst []int16, payload []byte) []int16 {
	for _, b := range payload {
		if l == lawPCMA {
			dst = append(dst, g711.DecodeAlawFrame(b))
		} else {
			dst = append(dst, g711.DecodeUlawFrame(b))
		}
	}
	return dst
}

// silence is the byte of a zero sample.
func (l law) silence() byte {
	if l == lawPCMA {
		return g711.EncodeAlawFrame(0)
	}
	return g711.EncodeUlawFrame(0)
}
