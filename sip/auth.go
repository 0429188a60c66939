package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard/switchboard/sip/digestauth"
)

// authorizer decides who a request comes from and what they may do.
type authorizer struct {
	cfg   AuthConfig
	users map[string]User // algorithms canonical
	auth  *digestauth.Authenticator
	guard *guard
}

func newAuthorizer(cfg AuthConfig) (*authorizer, error) {
	a := &authorizer{cfg: cfg, users: make(map[string]User, len(cfg.Users)), guard: newGuard(cfg.Guard)}
	if !cfg.Enabled {
		return a, nil
	}
	for i, u := range cfg.Users {
		algs, err := digestauth.CanonicalAlgorithms(u.Algorithms)
		if err != nil {
			return nil, fmt.Errorf("auth.users[%d].algorithms: %w", i, err)
		}
		u.Algorithms = algs
		a.users[u.Name] = u
	}
	auth, err := digestauth.New(cfg.Digest, a, nil)
	if err != nil {
		return nil, err
	}
	a.auth = auth
	return a, nil
}

// Password implements digestauth.Credentials.
func (a *authorizer) Password(user string) (string, bool) {
	u, ok := a.users[user]
	return u.Password, ok
}

// Algorithms implements digestauth.UserAlgorithms: a user's own list, nil
// for the configured default.
func (a *authorizer) Algorithms(user string) []string { return a.users[user].Algorithms }

// authenticate returns the user a request comes from. When it cannot tell,
// it answers the request itself (401 with fresh challenges, or 403 while
// the guard refuses its source) and returns ok=false. With authentication
// off every request passes as user "".
func (x *exchange) authenticate() (user string, ok bool) {
	a := x.s.auth
	if !a.cfg.Enabled {
		return "", true
	}
	var header string
	if h := x.req.GetHeader("Authorization"); h != nil {
		header = h.Value()
	}
	claimed, now := triedUser(header, x.req), time.Now()
	src := sourceAddr(x.req)
	if limit, threshold, blocked := a.guard.blocked(src, claimed, now); blocked {
		x.refuse(limit, threshold)
		return "", false
	}
	user, err := a.auth.Verify(string(x.req.Method), header)
	if err == nil {
		a.guard.succeeded(src, claimed)
		return user, true
	}
	if errors.Is(err, digestauth.ErrBadCredentials) {
		a.guard.failed(src, claimed, now)
		x.log.Info("sip authentication failed", "method", x.req.Method, "call_id", callID(x.req), "error", err)
	}
	challenges := a.auth.Challenges(claimed, errors.Is(err, digestauth.ErrStaleNonce))
	hdrs := make([]sipmsg.Header, len(challenges))
	for i, c := range challenges {
		hdrs[i] = sipmsg.NewHeader("WWW-Authenticate", c)
	}
	x.respond(401, "Unauthorized", nil, hdrs...)
	return "", false
}

// triedUser is the user a request tries to authenticate as: the
// credentials' username (the one a guess is for), else the From user.
func triedUser(authorization string, req *sipmsg.Request) string {
	if authorization != "" {
		if c, err := digest.ParseCredentials(authorization); err == nil && c.Username != "" {
			return c.Username
		}
	}
	return req.From().Address.User
}

// sourceAddr is the IP address a request came from (the invalid Addr when
// unknown).
func sourceAddr(req *sipmsg.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// mayAct reports whether user may publish for, or register, the
// address-of-record whose user part is owner: only its own, unless trusted.
func (a *authorizer) mayAct(user, owner string) bool {
	return !a.cfg.Enabled || user == owner || slices.Contains(a.cfg.Trusted, user)
}
