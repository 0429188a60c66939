package sip

import (
	"slices"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
)

// onRegister handles REGISTER (RFC 3261 §10.3). GRUU is not offered, so
// a phone's later requests keep its plain Contact. A REGISTER's Path
// (RFC 3327) is kept with its bindings when a trusted proxy sent it (see
// path), and echoed in the 200 only when the phone said "Supported:
// path" (§5.3).
func (s *Server) onRegister(x *exchange) {
	req := x.req
	user, ok := x.authenticate()
	if !ok {
		return
	}
	aor := req.To().Address
	if !s.auth.mayAct(user, aor.User) {
		x.respond(403, "Forbidden", nil)
		return
	}
	exp, err := expires(req)
	if err != nil {
		x.respond(400, reasonPhrase(err.Error()), nil)
		return
	}
	r := location.Request{
		AOR:       canonicalAOR(aor),
		CallID:    callID(req),
		CSeq:      req.CSeq().SeqNo,
		Source:    req.Source(),
		Transport: req.Transport(),
		Path:      s.path(req),
	}
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Wildcard {
			r.Wildcard = true
			if exp == nil || *exp != 0 {
				x.respondError(location.ErrWildcard)
				return
			}
			continue
		}
		ce := exp
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				x.respond(400, "Invalid Contact expires parameter", nil)
				return
			}
			d := time.Duration(n) * time.Second
			ce = &d
		}
		r.Contacts = append(r.Contacts, location.Contact{URI: c.Address.String(), Expires: ce})
	}
	bindings, err := s.registrar.Register(x.ctx, r)
	if err != nil {
		x.respondError(err)
		return
	}
	hdrs := make([]sipmsg.Header, 0, len(bindings)+1)
	for _, b := range bindings {
		c := &sipmsg.ContactHeader{}
		if err := sipmsg.ParseUri(b.Contact, &c.Address); err != nil {
			continue
		}
		c.Params.Add("expires", strconv.Itoa(int(time.Until(b.Expires).Round(time.Second).Seconds())))
		hdrs = append(hdrs, c)
	}
	if supports(req, "path") {
		for _, p := range r.Path {
			hdrs = append(hdrs, sipmsg.NewHeader("Path", p))
		}
	}
	hdrs = append(hdrs, sipmsg.NewHeader("Date", time.Now().UTC().Format(time.RFC1123)))
	x.respond(200, "OK", nil, hdrs...)
}

// path returns the Path values of a REGISTER, in order, when a trusted
// proxy (sip.trusted_proxies) sent it. From anyone else they are
// ignored, neither stored nor echoed: requests to the phone then go to
// its Contact or source address, so that nobody can have the server's
// INVITEs and MESSAGEs sent through a host of their choosing.
//
// RFC 3327 §5.3 has a registrar refuse a Path the phone did not say it
// supports (420); this one keeps it all the same, as Kamailio's "lazy"
// path mode does: proxies, deploy/kamailio's among them, add Path to
// every REGISTER, and few phones send "Supported: path".
func (s *Server) path(req *sipmsg.Request) []string {
	hs := req.GetHeaders("Path")
	if len(hs) == 0 || !s.trustedSource(req.Source()) {
		return nil
	}
	var path []string
	for _, h := range hs {
		path = append(path, splitList(h.Value())...)
	}
	return path
}

// supports reports whether req lists option tag in Supported (or its
// compact form, k).
func supports(req *sipmsg.Request, tag string) bool {
	for _, name := range []string{"Supported", "k"} {
		for _, h := range req.GetHeaders(name) {
			if slices.ContainsFunc(splitList(h.Value()), func(t string) bool { return strings.EqualFold(t, tag) }) {
				return true
			}
		}
	}
	return false
}

// lws is the linear white space around a header's values (RFC 3261 §25.1).
const lws = " \t\r\n"

// splitList splits a header value at the commas that separate its
// values (RFC 3261 §7.3.1), not those inside <...> or quotes, and trims
// each of linear white space; empty values are dropped.
func splitList(v string) []string {
	var out []string
	angle, quoted, start := false, false, 0
	add := func(end int) {
		if f := strings.Trim(v[start:end], lws); f != "" {
			out = append(out, f)
		}
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && !angle:
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == ',' && !angle && !quoted:
			add(i)
			start = i + 1
		}
	}
	add(len(v))
	return out
}
