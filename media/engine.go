package media

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

// Engine answers browsers' offers and gives each call its media Session.
type Engine struct {
	cfg   Config
	api   *webrtc.API
	ports *portPool
	ip    netip.Addr // of the plain RTP leg
	log   *slog.Logger

	toPhone, toBrowser, phoneToPhone atomic.Uint64 // RTP packets relayed
	iceRestarts                      atomic.Uint64 // answered
	calls                            atomic.Int64  // relayed now, up to cfg.MaxCalls
}

// Stats counts what the relay did since start.
type Stats struct {
	// ToPhone and ToBrowser count the RTP packets relayed each way
	// between browsers and phones, PhoneToPhone those between the two
	// phones of callbacks.
	ToPhone, ToBrowser, PhoneToPhone uint64
	// Calls are the calls relayed now, softphones included, at most
	// Config.MaxCalls.
	Calls int
	// ICERestarts counts the browsers' ICE restarts answered.
	ICERestarts uint64
}

// Stats returns the relay's counts.
func (e *Engine) Stats() Stats {
	return Stats{ToPhone: e.toPhone.Load(), ToBrowser: e.toBrowser.Load(), PhoneToPhone: e.phoneToPhone.Load(),
		Calls: int(e.calls.Load()), ICERestarts: e.iceRestarts.Load()}
}

// admit takes a place for one more call, or says which limit refuses it;
// release gives it back.
func (e *Engine) admit() error {
	if e.calls.Add(1) > int64(e.cfg.MaxCalls) {
		e.calls.Add(-1)
		return fmt.Errorf("%w: media.max_calls is %d", calls.ErrMediaFull, e.cfg.MaxCalls)
	}
	return nil
}

func (e *Engine) release() { e.calls.Add(-1) }

var _ calls.MediaEngine = (*Engine)(nil)

// NewEngine prepares the media of calls; rtpIP is the plain leg's address
// when cfg.RTPAddress is empty.
func NewEngine(cfg Config, rtpIP string, log *slog.Logger) (*Engine, error) {
	if cfg.RTPAddress != "" {
		rtpIP = cfg.RTPAddress
	}
	ip, err := netip.ParseAddr(rtpIP)
	if err != nil {
		return nil, fmt.Errorf("media: RTP address %q: %w", rtpIP, err)
	}
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: pcmu.mime(), ClockRate: 8000}, PayloadType: webrtc.PayloadType(pcmu.pt)},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: pcma.mime(), ClockRate: 8000}, PayloadType: webrtc.PayloadType(pcma.pt)},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: eventPT},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("media: register %s: %w", c.MimeType, err)
		}
	}
	// No interceptors: no NACK, no congestion control for a 64 kbit/s
	// audio stream, and the relay sends its own RTCP reports from the
	// counters it keeps anyway (pion's report interceptors cost a fifth of
	// the relay's CPU, make bench).
	reg := &interceptor.Registry{}
	se, err := settings(cfg)
	if err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return &Engine{cfg: cfg, api: api, ports: newPortPool(ip, cfg.RTPPortMin, cfg.RTPPortMax), ip: ip, log: log}, nil
}

// settings turns the ICE configuration into pion's.
func settings(cfg Config) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// Consent (RFC 7675) lost for the media timeout fails the connection.
	se.SetICETimeouts(min(5*time.Second, cfg.Timeout), cfg.Timeout, 2*time.Second)
	if ips := cfg.ICE.HostIPs; len(ips) > 0 {
		keep := make(map[netip.Addr]bool, len(ips))
		for _, s := range ips {
			ip, _ := netip.ParseAddr(s)
			keep[ip.Unmap()] = true
			if ip.IsLoopback() {
				se.SetIncludeLoopbackCandidate(true)
			}
		}
		se.SetIPFilter(func(ip net.IP) bool {
			a, ok := netip.AddrFromSlice(ip)
			return ok && keep[a.Unmap()]
		})
	}
	if len(cfg.ICE.NAT1To1IPs) > 0 { // host candidates show the public addresses instead
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: cfg.ICE.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return se, fmt.Errorf("media.ice.nat_1to1_ips: %w", err)
		}
	}
	if cfg.ICE.UDPPortMax > 0 {
		if err := se.SetEphemeralUDPPortRange(uint16(cfg.ICE.UDPPortMin), uint16(cfg.ICE.UDPPortMax)); err != nil {
			return se, fmt.Errorf("media.ice.udp_port_min: %w", err)
		}
	}
	return se, nil
}

// Answer implements calls.MediaEngine.
func (e *Engine) Answer(offer string) (calls.Media, string, error) {
	offer = lenient(offer)
	o, err := readOffer(offer)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", calls.ErrBadOffer, err)
	}
	if err := e.admit(); err != nil {
		return nil, "", err
	}
	rtpConn, rtcpConn, err := e.ports.open()
	if err != nil {
		e.release()
		return nil, "", fmt.Errorf("media: %w", err)
	}
	s, answer, err := e.answer(offer, o, newPlainLeg(rtpConn, rtcpConn))
	if err != nil {
		e.release()
		rtpConn.Close()
		rtcpConn.Close()
		return nil, "", err
	}
	return s, answer, nil
}

// iceServers is the pion form of the configured STUN and TURN servers.
func (e *Engine) iceServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, len(e.cfg.ICE.Servers))
	for i, s := range e.cfg.ICE.Servers {
		out[i] = webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
	}
	return out
}
