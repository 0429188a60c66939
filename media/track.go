package media

import (
	"errors"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// errUnbound is returned while the browser leg cannot take packets yet.
var errUnbound = errors.New("track not bound")

// relayTrack is the browser leg's outgoing audio: packets relayed from
// the phone, written as they are. pion's TrackLocalStaticRTP stamps one
// payload type on every packet, which would turn RFC 4733 events into
// audio; this track keeps each packet's own type, mapped to the types
// the browser negotiated.
type relayTrack struct {
	law codec

	mu      sync.RWMutex
	w       webrtc.TrackLocalWriter
	ssrc    uint32
	audioPT uint8
	eventPT int // -1: the browser takes no telephone-event
}

var _ webrtc.TrackLocal = (*relayTrack)(nil)

func newRelayTrack(law codec) *relayTrack { return &relayTrack{law: law, eventPT: -1} }

// Bind implements webrtc.TrackLocal: the browser leg is up.
func (t *relayTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var audio *webrtc.RTPCodecParameters
	eventPT := -1
	for _, c := range ctx.CodecParameters() {
		switch {
		case strings.EqualFold(c.MimeType, t.law.mime()) && audio == nil:
			audio = &c
		case strings.EqualFold(c.MimeType, "audio/telephone-event") && c.ClockRate == 8000:
			eventPT = int(c.PayloadType)
		}
	}
	if audio == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w, t.ssrc, t.audioPT, t.eventPT = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(audio.PayloadType), eventPT
	return *audio, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *relayTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.w = nil
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *relayTrack) ID() string { return "audio" }

// RID implements webrtc.TrackLocal.
func (t *relayTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *relayTrack) StreamID() string { return "switchboard" }

// Kind implements webrtc.TrackLocal.
func (t *relayTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// boundSSRC is the SSRC the browser leg sends with, 0 before it is bound.
func (t *relayTrack) boundSSRC() uint32 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.w == nil {
		return 0
	}
	return t.ssrc
}

// write sends one packet whose header the relay rewrote, an event when
// isEvent (dropped when the browser negotiated no telephone-event).
func (t *relayTrack) write(h *rtp.Header, payload []byte, isEvent bool) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.w == nil {
		return errUnbound
	}
	h.SSRC = t.ssrc
	h.PayloadType = t.audioPT
	if isEvent {
		if t.eventPT < 0 {
			return nil
		}
		h.PayloadType = uint8(t.eventPT)
	}
	_, err := t.w.WriteRTP(h, payload)
	return err
}
