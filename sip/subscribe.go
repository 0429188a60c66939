package sip

import (
	"mime"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/presence"
)

// onSubscribe handles SUBSCRIBE for the presence and dialog event
// packages (RFC 6665 §4.2.1, RFC 3856 §6, RFC 4235 §3): an initial one creates a dialog, one inside a
// dialog refreshes or ends its subscription. Each accepted SUBSCRIBE is
// answered first and then followed by a NOTIFY.
func (s *Server) onSubscribe(x *exchange) {
	req := x.req
	user, ok := x.authenticate()
	if !ok {
		return
	}
	pkg, eventID := event(req)
	docType := presence.ContentType(pkg)
	if docType == "" {
		x.respond(489, "Bad Event", nil, sipmsg.NewHeader("Allow-Events", allowEvents))
		return
	}
	if !accepts(req, docType) {
		x.respond(406, "Not Acceptable", nil, sipmsg.NewHeader("Accept", docType))
		return
	}
	exp, err := expires(req)
	if err != nil {
		x.respond(400, reasonPhrase(err.Error()), nil)
		return
	}
	if toTag, ok := req.To().Params.Get("tag"); ok && toTag != "" {
		s.refresh(x, toTag, eventID, exp)
		return
	}
	if req.Contact() == nil {
		x.respond(400, "Missing Contact header", nil)
		return
	}
	d := newSubDialog(req, sipmsg.GenerateTagN(16), eventID)
	raw := d.encode()
	if err := s.dialogs.put(d.id(), d, raw); err != nil {
		x.respond(400, reasonPhrase("Bad Contact: "+err.Error()), nil)
		return
	}
	sub, published, err := s.presence.Subscribe(x.ctx, presence.SubscribeRequest{
		ID:         d.id(),
		Presentity: canonicalAOR(req.Recipient),
		Event:      pkg,
		Watcher:    req.From().Address.String(),
		User:       user,
		Expires:    exp,
		Dialog:     raw,
	})
	if err != nil {
		s.dialogs.drop(d.id())
		x.respondError(err)
		return
	}
	req.To().Params.Add("tag", d.LocalTag)
	code, reason := 200, "OK"
	if !published {
		code, reason = 202, "Accepted"
	}
	s.accept(x, code, reason, sub)
}

// refresh handles a SUBSCRIBE inside an existing dialog.
func (s *Server) refresh(x *exchange, toTag, eventID string, exp *time.Duration) {
	req := x.req
	fromTag, _ := req.From().Params.Get("tag")
	id := dialogID(callID(req), fromTag, toTag, eventID)
	sub, ok := s.presence.Subscription(id)
	if !ok {
		x.respond(481, "Subscription Does Not Exist", nil)
		return
	}
	pd, err := s.dialogs.get(id, sub.Dialog)
	if err != nil {
		x.respondError(err)
		return
	}
	d := *pd.subDialog                    // a copy: NOTIFYs in flight read the cached one
	if req.CSeq().SeqNo <= d.RemoteCSeq { // RFC 3261 §12.2.2
		x.respond(500, "CSeq Out of Order", nil)
		return
	}
	d.RemoteCSeq = req.CSeq().SeqNo
	if c := req.Contact(); c != nil {
		d.RemoteTarget = c.Address.String() // a refresh may move the target (RFC 6665 §4.1.2.1)
	}
	raw := d.encode()
	if err := s.dialogs.put(id, &d, raw); err != nil {
		x.respond(400, reasonPhrase("Bad Contact: "+err.Error()), nil)
		return
	}
	sub, err = s.presence.Refresh(x.ctx, id, exp, raw)
	if err != nil {
		x.respondError(err)
		return
	}
	s.accept(x, 200, "OK", sub)
}

// accept answers an accepted SUBSCRIBE and has its NOTIFY sent after the answer.
func (s *Server) accept(x *exchange, code int, reason string, sub presence.Subscription) {
	contact := &sipmsg.ContactHeader{Address: s.contactURI(x.req.Transport())}
	x.respond(code, reason, nil, contact, expiresHeader(time.Until(sub.Expires)))
	if err := s.presence.Flush(sub.ID); err != nil {
		x.log.Warn("notify after subscribe", "subscription", sub.ID, "error", err)
	}
}

// accepts reports whether the Accept headers allow docType. A SUBSCRIBE
// without Accept means the package's own type (RFC 3856 §6.6, RFC 4235
// §3.3); so does an empty one, which some phones send.
func accepts(req *sipmsg.Request, docType string) bool {
	hs := req.GetHeaders("Accept")
	seen := false
	for _, h := range hs {
		for _, item := range strings.Split(h.Value(), ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			seen = true
			mt, _, err := mime.ParseMediaType(item)
			if err == nil && (mt == docType || mt == "*/*" || mt == "application/*") {
				return true
			}
		}
	}
	return !seen
}
