package calltest

import (
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// MimeTypeTelephoneEvent is the MIME type of RFC 4733 events.
const MimeTypeTelephoneEvent = "audio/telephone-event"

// audioTrack is a TrackLocal that writes whole RTP packets of its own on
// one SSRC, G.711 and telephone-event alike, each with its negotiated
// payload type (TrackLocalStaticRTP would rewrite every payload type to
// the one of the codec it bound).
type audioTrack struct {
	id, streamID string

	mu      sync.Mutex
	binding *trackBinding
}

// trackBinding is what negotiation gave the track.
type trackBinding struct {
	ssrc    uint32
	w       webrtc.TrackLocalWriter
	law     law
	audioPT uint8
	tePT    uint8
	hasTE   bool
}

// Bind picks the first negotiated G.711 codec and the telephone-event
// payload type.
func (t *audioTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	b := &trackBinding{ssrc: uint32(ctx.SSRC()), w: ctx.WriteStream()}
	var chosen webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		name, _ := strings.CutPrefix(strings.ToLower(c.MimeType), "audio/")
		switch {
		case b.law == lawNone && c.ClockRate == SampleRate && lawOf(name) != lawNone:
			b.law, b.audioPT, chosen = lawOf(name), uint8(c.PayloadType), c
		case !b.hasTE && strings.EqualFold(c.MimeType, MimeTypeTelephoneEvent) && c.ClockRate == SampleRate:
			b.tePT, b.hasTE = uint8(c.PayloadType), true
		}
	}
	if b.law == lawNone {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.mu.Lock()
	t.binding = b
	t.mu.Unlock()
	return chosen, nil
}

// Unbind forgets the binding.
func (t *audioTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.binding = nil
	t.mu.Unlock()
	return nil
}

// ID is the track's ID.
func (t *audioTrack) ID() string { return t.id }

// RID is empty: no simulcast.
func (t *audioTrack) RID() string { return "" }

// StreamID is the track's stream (the MediaStream of a browser).
func (t *audioTrack) StreamID() string { return t.streamID }

// Kind is audio.
func (t *audioTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// bound returns the current binding, nil before negotiation.
func (t *audioTrack) bound() *trackBinding {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.binding
}

// write sends one packet on the bound stream.
func (b *trackBinding) write(pt uint8, seq uint16, ts uint32, marker bool, payload []byte) error {
	_, err := b.w.WriteRTP(&rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
	}, payload)
	return err
}
