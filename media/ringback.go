package media

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"
)

// Ringback: the tone a caller hears while the far end rings, here the
// European one (ETSI ES 201 970, ITU-T E.180): 425 Hz, 1 s on, 4 s off,
// at about -16 dBFS.
const (
	ringbackHz     = 425
	ringbackOn     = time.Second
	ringbackPeriod = 5 * time.Second
	ringbackLevel  = 0.15 * math.MaxInt16
	frameSamples   = 160 // 20 ms at 8000 Hz
)

// Ringback implements calls.PhoneMedia: the agent hears the ringing tone,
// as its own RTP stream, until the trunk's media starts (early media or
// the answer) or the bridge closes.
func (b *Bridge) Ringback() {
	if b.ringing.Swap(true) {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		law := b.law.Load()
		if law == nil {
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: law.pt, Marker: true,
			SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(), SSRC: rand.Uint32()}}
		pcm := make([]byte, 2*frameSamples)
		out := make([]byte, 12+frameSamples)
		for n := 0; ; n++ {
			select {
			case <-b.done:
				return
			case <-tick.C:
			}
			if b.trunk.connected.Load() {
				return
			}
			ringbackFrame(pcm, n)
			if *law == pcma {
				pkt.Payload = g711.EncodeAlaw(pcm)
			} else {
				pkt.Payload = g711.EncodeUlaw(pcm)
			}
			if m, err := pkt.MarshalTo(out); err == nil {
				b.agent.send(out[:m])
			}
			pkt.Marker = false
			pkt.SequenceNumber++
			pkt.Timestamp += frameSamples
		}
	}()
}

// ringbackFrame fills pcm (16-bit little-endian) with frame n of the
// ringback cadence.
func ringbackFrame(pcm []byte, n int) {
	start := n * frameSamples
	on := time.Duration(start%int(ringbackPeriod/time.Second*8000))*time.Second/8000 < ringbackOn
	for i := range frameSamples {
		var v int16
		if on {
			v = int16(ringbackLevel * math.Sin(2*math.Pi*ringbackHz*float64(start+i)/8000))
		}
		pcm[2*i], pcm[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
}
