package media

import (
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

// answerBrowser answers a browser's offer on pc, with track as the audio
// it receives restricted to codecs, and waits for ICE gathering to
// complete (no trickle). The browser's RTCP on that audio is read by a
// goroutine counted in wg, calling rx at each packet, until pc closes.
func answerBrowser(pc *webrtc.PeerConnection, track *relayTrack, offer string, codecs []webrtc.RTPCodecParameters,
	wg *sync.WaitGroup, rx func()) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return "", fmt.Errorf("media: add track: %w", err)
	}
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() != sender {
			continue
		}
		if err := tr.SetCodecPreferences(codecs); err != nil {
			return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
		}
	}
	wg.Add(1)
	go func() { // RTCP from the browser: read, so that interceptors see it
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
			rx()
		}
	}()
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// browserCodecs are what an answer gives a browser: the call's law and,
// if the browser offered it, telephone-event under the offer's own
// payload type (RFC 3264 §6.1; Chrome sends events with the answer's
// number).
func browserCodecs(law codec, eventPT int32) []webrtc.RTPCodecParameters {
	cs := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: law.mime(), ClockRate: 8000}, PayloadType: webrtc.PayloadType(law.pt)},
	}
	if eventPT >= 0 {
		cs = append(cs, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"},
			PayloadType:        webrtc.PayloadType(eventPT)})
	}
	return cs
}
