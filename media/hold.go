package media

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"
)

// The hold tone a visitor hears while the agent holds the call from the
// console, or while a transfer finds the next agent: a soft two-note
// chime, C5 then E5, each holdNote long, every holdPeriod, at about
// -20 dBFS, and silence between. A tone rather than silence: a visitor
// who hears nothing for long hangs up, thinking the call dropped; a
// chime that comes back says the call is alive and waiting, and is
// gentle enough to hear for minutes (music would need licensing, and
// G.711 at 8 kHz renders it poorly).
const (
	holdLowHz  = 523.25 // C5
	holdHighHz = 659.25 // E5
	holdNote   = 400 * time.Millisecond
	holdPeriod = 3 * time.Second
	holdLevel  = 0.1 * math.MaxInt16
)

// Hold implements calls.Media: while on, the visitor hears the hold tone
// and the phone's audio is dropped, and the phone gets silence in place
// of the visitor's audio (it keeps its stream, so neither side's media
// timeout fires). The phone's own hold (Reoffer) is independent of it.
func (s *Session) Hold(on bool) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if on == s.held.Load() {
		return
	}
	s.held.Store(on)
	if !on {
		close(s.holdStop)
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.holdStop = make(chan struct{})
	s.wg.Add(1)
	go s.holdTone(s.holdStop)
}

// Disconnect implements calls.Media: the agent's leg is gone (a
// transfer); nothing is relayed either way, and the phone's silence is
// no media timeout, until Connect takes the next agent's answer.
func (s *Session) Disconnect() { s.bridged.Store(false) }

// holdTone sends the hold tone toward the browser, as a stream of its
// own through the browser leg's Rewriter, until stop or the end of the
// call.
func (s *Session) holdTone(stop <-chan struct{}) {
	defer s.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	h := rtp.Header{Version: 2, PayloadType: s.law.pt, Marker: true,
		SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(), SSRC: rand.Uint32()}
	pcm := make([]byte, 2*frameSamples)
	var payload []byte
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-tick.C:
		}
		holdFrame(pcm, n)
		if s.law == pcma {
			payload = g711.EncodeAlaw(pcm)
		} else {
			payload = g711.EncodeUlaw(pcm)
		}
		hdr := h
		s.toBrowserPacket(&hdr, payload, false)
		h.Marker = false
		h.SequenceNumber++
		h.Timestamp += frameSamples
	}
}

// holdFrame fills pcm (16-bit little-endian) with frame n of the hold
// tone.
func holdFrame(pcm []byte, n int) {
	start := n * frameSamples
	at := time.Duration(start%int(holdPeriod.Seconds()*8000)) * time.Second / 8000
	freq := 0.0
	switch {
	case at < holdNote:
		freq = holdLowHz
	case at < 2*holdNote:
		freq = holdHighHz
	}
	for i := range frameSamples {
		var v int16
		if freq != 0 {
			v = int16(holdLevel * math.Sin(2*math.Pi*freq*float64(start+i)/8000))
		}
		pcm[2*i], pcm[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
}

// silence is the G.711 byte of a zero sample in law c.
func silence(c codec) byte {
	if c == pcma {
		return g711.EncodeAlawFrame(0)
	}
	return g711.EncodeUlawFrame(0)
}
