package sip

import (
	"mime"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/presence"
)

// pidfType is the media type of presence documents.
const pidfType = "application/pidf+xml"

// allowEvents lists the event packages served (RFC 6665 §8.2.2): presence
// (RFC 3856) and dialog (RFC 4235, for BLF keys).
const allowEvents = presence.EventPresence + ", " + presence.EventDialog

// onPublish handles PUBLISH (RFC 3903 §6) for the presence and dialog
// event packages.
func (s *Server) onPublish(x *exchange) {
	req := x.req
	user, ok := x.authenticate()
	if !ok {
		return
	}
	if !s.auth.mayAct(user, req.Recipient.User) {
		x.respond(403, "Forbidden", nil)
		return
	}
	ev, _ := event(req)
	docType := presence.ContentType(ev)
	if docType == "" {
		x.respond(489, "Bad Event", nil, sipmsg.NewHeader("Allow-Events", allowEvents))
		return
	}
	body := req.Body()
	if len(body) > 0 && !hasType(req, docType) {
		x.respond(415, "Unsupported Media Type", nil, sipmsg.NewHeader("Accept", docType))
		return
	}
	exp, err := expires(req)
	if err != nil {
		x.respond(400, reasonPhrase(err.Error()), nil)
		return
	}
	var ifMatch string
	if h := req.GetHeader("SIP-If-Match"); h != nil {
		ifMatch = strings.TrimSpace(h.Value())
	}
	pub, err := s.presence.Publish(x.ctx, presence.PublishRequest{
		Presentity:  canonicalAOR(req.Recipient),
		Event:       ev,
		IfMatch:     ifMatch,
		Expires:     exp,
		ContentType: docType,
		Body:        body,
	})
	if err != nil {
		x.respondError(err)
		return
	}
	if pub.ETag == "" { // removed (RFC 3903 §6, step 6)
		x.respond(200, "OK", nil, expiresHeader(0))
		return
	}
	x.respond(200, "OK", nil, sipmsg.NewHeader("SIP-ETag", pub.ETag), expiresHeader(time.Until(pub.Expires)))
}

// hasType reports whether the request's Content-Type is mediaType,
// whatever its parameters.
func hasType(req *sipmsg.Request, mediaType string) bool {
	ct := req.ContentType()
	if ct == nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct.Value())
	return err == nil && mt == mediaType
}

// event returns the Event package, lower-cased, and its id parameter
// (RFC 6665 §8.2.1).
func event(req *sipmsg.Request) (pkg, id string) {
	h := req.GetHeader("Event")
	if h == nil {
		return "", ""
	}
	parts := strings.Split(h.Value(), ";")
	pkg = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "id") {
			id = v
		}
	}
	return pkg, id
}
