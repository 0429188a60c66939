package sip

import (
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
)

// onRegister handles REGISTER (RFC 3261 §10.3). GRUU is not offered, so
// a phone's later requests keep its plain Contact.
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
	hdrs = append(hdrs, sipmsg.NewHeader("Date", time.Now().UTC().Format(time.RFC1123)))
	x.respond(200, "OK", nil, hdrs...)
}
