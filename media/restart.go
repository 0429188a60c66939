package media

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

// An ICE restart (RFC 8445 §2.4, RFC 8839 §4.4.1.1.1) is how a browser
// whose network changed mid-call (Wi-Fi to 4G, a VPN, a laptop waking)
// moves the call to a new path: a new offer with new ICE credentials,
// which pion answers on the same PeerConnection. DTLS, SRTP, the tracks,
// the data channel, the agent's leg and the relay all stay as they are.
//
// While the old path is dead nothing ends the call but the media timeout:
// pion's ICE goes disconnected after min(5 s, media.timeout) and fails
// only after media.timeout more (engine.go), and watch ends the call once
// the browser sent nothing for media.timeout. An answered restart counts
// as the browser being heard: the new path has a whole media.timeout to
// come up.

// Restart implements calls.Media: it answers the browser's ICE restart
// offer, with gathering complete (no trickle), one at a time and at most
// media.ice.max_restarts times per call.
func (s *Session) Restart(offer string) (string, error) {
	select {
	case <-s.done:
		return "", calls.ErrCallEnded
	default:
	}
	if !s.restarting.CompareAndSwap(false, true) {
		return "", calls.ErrRestartBusy
	}
	defer s.restarting.Store(false)
	if int(s.restarts.Load()) >= s.e.cfg.ICE.MaxRestarts {
		return "", fmt.Errorf("%w: media.ice.max_restarts is %d", calls.ErrRestartLimit, s.e.cfg.ICE.MaxRestarts)
	}
	offer = lenient(offer)
	if err := s.checkRestart(offer); err != nil {
		return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	s.restarts.Add(1)
	answer, err := s.renegotiate(offer)
	if err != nil {
		return "", err
	}
	s.lastBrowserRx.Store(time.Now().UnixNano())
	s.e.iceRestarts.Add(1)
	return answer, nil
}

// checkRestart accepts an offer that restarts ICE (new credentials) and
// keeps the call's law.
func (s *Session) checkRestart(offer string) error {
	o, err := readOffer(offer)
	if err != nil {
		return err
	}
	if o.law != s.law {
		return fmt.Errorf("the call is %s, the offer %s", s.law.name, o.law.name)
	}
	if o.ufrag == "" {
		return errors.New("no ice-ufrag in the offer")
	}
	if cur := s.pc.RemoteDescription(); cur != nil {
		if was, err := readOffer(cur.SDP); err == nil && was.ufrag == o.ufrag {
			return fmt.Errorf("the ICE credentials are the same (ice-ufrag %s): nothing to restart", o.ufrag)
		}
	}
	return nil
}

// renegotiate answers offer on the call's PeerConnection, waiting for the
// new candidates; on failure the offer is rolled back, and the connection
// stays as it was.
func (s *Session) renegotiate(offer string) (string, error) {
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		return "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	select {
	case <-gathered:
	case <-s.done:
		return "", calls.ErrCallEnded
	}
	return s.pc.LocalDescription().SDP, nil
}
