package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/calls"
)

// TrunkConfig is the SIP trunk toward the telephone network, for callbacks.
type TrunkConfig struct {
	// Host and Port of the trunk (the provider's SBC or a local gateway).
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// Transport is udp, tcp or tls.
	Transport string `yaml:"transport"`
	// Username and Password answer the trunk's digest challenges.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// CallerID is the number shown to visitors called back (the user part
	// of From), in E.164 or as the provider wants it.
	CallerID string `yaml:"caller_id"`
}

// Validate names the first bad field, prefixed by prefix (e.g. "trunk").
func (c TrunkConfig) Validate(prefix string) error {
	switch {
	case c.Host == "":
		return fmt.Errorf("%s.host: required for callbacks", prefix)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("%s.port: %d is not a port", prefix, c.Port)
	case c.Transport != "udp" && c.Transport != "tcp" && c.Transport != "tls":
		return fmt.Errorf("%s.transport: %q is not udp, tcp or tls", prefix, c.Transport)
	case c.CallerID == "":
		return fmt.Errorf("%s.caller_id: required", prefix)
	}
	return nil
}

// Trunk calls telephone numbers through the configured trunk; it
// implements calls.Trunk.
type Trunk struct {
	s   *Server
	cfg TrunkConfig
}

var _ calls.Trunk = (*Trunk)(nil)

// NewTrunk returns the trunk of server s.
func (s *Server) NewTrunk(cfg TrunkConfig) *Trunk { return &Trunk{s: s, cfg: cfg} }

// Dial implements calls.Trunk: INVITE sip:<number>@<host>:<port>, with
// only the media offer (no visitor context leaves for the PSTN).
func (t *Trunk) Dial(ctx context.Context, number string, o calls.Offer, h calls.LegHandler) (calls.Leg, error) {
	hostport := net.JoinHostPort(t.cfg.Host, strconv.Itoa(t.cfg.Port))
	target := sipmsg.Uri{Scheme: "sip", User: number, Host: t.cfg.Host, Port: t.cfg.Port, UriParams: sipmsg.NewParams()}
	if t.cfg.Transport != "udp" {
		target.UriParams.Add("transport", t.cfg.Transport)
	}
	transport := strings.ToUpper(t.cfg.Transport)
	caller := sipmsg.Uri{Scheme: "sip", User: t.cfg.CallerID, Host: t.cfg.Host}
	to := sipmsg.Uri{Scheme: "sip", User: number, Host: t.cfg.Host}
	req := t.s.newRequest(target, caller, "", to, transport, calls.Offer{SDP: o.SDP})
	t.s.route(req, &subDialog{Transport: transport})
	req.SetDestination(hostport)
	l, err := t.s.invite(ctx, req, false, sipgo.AnswerOptions{Username: t.cfg.Username, Password: t.cfg.Password}, h)
	if err != nil {
		return nil, fmt.Errorf("trunk call to %s: %w", number, err)
	}
	return l, nil
}
