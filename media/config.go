package media

import (
	"fmt"
	"net/netip"
	"time"
)

// Config is the media of calls: the plain RTP leg toward SIP phones, the
// WebRTC leg toward browsers, and when a call without media ends.
type Config struct {
	// RTPAddress is the IP address of the plain RTP leg: bound, and shown
	// to phones in SDP. Empty means the SIP server's address.
	RTPAddress string `yaml:"rtp_address"`
	// RTPPortMin and RTPPortMax bound the plain RTP ports; each call takes
	// an even port for RTP and the next one for RTCP.
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// ICE configures the browser leg's connectivity.
	ICE ICEConfig `yaml:"ice"`
	// ConnectTimeout is how long ICE and DTLS may take before the call
	// ends with reason no-data-connection.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout ends a call whose leg sent no RTP or RTCP (or, toward the
	// browser, lost ICE consent) for that long: reason media-timeout.
	Timeout time.Duration `yaml:"timeout"`
	// MaxCalls caps the calls relayed at once, Talk now calls, callbacks
	// and agents' browser softphones together (a softphone counts as one
	// while it is connected): past it a new one is refused
	// (calls.ErrMediaFull) before live ones lose packets. 500 relayed
	// without loss on 2 cores (make bench); scale it with the cores.
	MaxCalls int `yaml:"max_calls"`
}

// ICEConfig is the browser leg's ICE.
type ICEConfig struct {
	// HostIPs restricts host candidates to these local addresses (empty:
	// every interface). Listing a loopback address includes it.
	HostIPs []string `yaml:"host_ips"`
	// NAT1To1IPs are public addresses mapped one-to-one to this host,
	// announced instead of the host candidates' own.
	NAT1To1IPs []string `yaml:"nat_1to1_ips"`
	// UDPPortMin and UDPPortMax bound the ICE ports (0: any).
	UDPPortMin int `yaml:"udp_port_min"`
	UDPPortMax int `yaml:"udp_port_max"`
	// Servers are STUN and TURN servers for server-reflexive and relayed
	// candidates.
	Servers []ICEServer `yaml:"servers"`
	// MaxRestarts caps the ICE restarts a browser may ask for in one call
	// (POST /v1/calls/{id}/ice-restart, after a network change): past it
	// calls.ErrRestartLimit. 0 allows none.
	MaxRestarts int `yaml:"max_restarts"`
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	// URLs such as "stun:stun.example.com:3478" or "turn:turn.example.com?transport=udp".
	URLs       []string `yaml:"urls"`
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// DefaultMaxRestarts is the default of media.ice.max_restarts: a call
// survives a few network changes, not a browser restarting in a loop.
const DefaultMaxRestarts = 5

// DefaultConfig uses RTP ports 20000–29999, gives ICE and DTLS 10 seconds,
// ends a call after 30 seconds without media, relays 500 calls at most and
// allows DefaultMaxRestarts ICE restarts per call.
func DefaultConfig() Config {
	return Config{RTPPortMin: 20000, RTPPortMax: 29999, ConnectTimeout: 10 * time.Second, Timeout: 30 * time.Second, MaxCalls: 500,
		ICE: ICEConfig{MaxRestarts: DefaultMaxRestarts}}
}

// Validate names the first bad field, prefixed by prefix (e.g. "media").
func (c Config) Validate(prefix string) error {
	if c.RTPAddress != "" {
		if _, err := netip.ParseAddr(c.RTPAddress); err != nil {
			return fmt.Errorf("%s.rtp_address: %q is not an IP address", prefix, c.RTPAddress)
		}
	}
	switch {
	case c.RTPPortMin < 1024 || c.RTPPortMin > 65534:
		return fmt.Errorf("%s.rtp_port_min: %d is not between 1024 and 65534", prefix, c.RTPPortMin)
	case c.RTPPortMax < c.RTPPortMin+1 || c.RTPPortMax > 65535:
		return fmt.Errorf("%s.rtp_port_max: %d must be above rtp_port_min and at most 65535", prefix, c.RTPPortMax)
	case c.ConnectTimeout <= 0:
		return fmt.Errorf("%s.connect_timeout: must be positive", prefix)
	case c.Timeout <= 0:
		return fmt.Errorf("%s.timeout: must be positive", prefix)
	case c.MaxCalls < 1:
		return fmt.Errorf("%s.max_calls: must be at least 1", prefix)
	case c.ICE.MaxRestarts < 0:
		return fmt.Errorf("%s.ice.max_restarts: must not be negative", prefix)
	case c.ICE.UDPPortMin < 0 || c.ICE.UDPPortMax > 65535 || c.ICE.UDPPortMax < c.ICE.UDPPortMin:
		return fmt.Errorf("%s.ice.udp_port_max: the range %d–%d is not valid", prefix, c.ICE.UDPPortMin, c.ICE.UDPPortMax)
	}
	for i, ip := range append(append([]string(nil), c.ICE.HostIPs...), c.ICE.NAT1To1IPs...) {
		if _, err := netip.ParseAddr(ip); err != nil {
			field := "host_ips"
			if i >= len(c.ICE.HostIPs) {
				field = "nat_1to1_ips"
			}
			return fmt.Errorf("%s.ice.%s: %q is not an IP address", prefix, field, ip)
		}
	}
	for i, s := range c.ICE.Servers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("%s.ice.servers[%d].urls: at least one URL is needed", prefix, i)
		}
	}
	return nil
}
