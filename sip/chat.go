package sip

import (
	"context"
	"encoding/xml"
	"fmt"
	"mime"
	"slices"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/location"
)

// Visitors' chats reach agents' phones as MESSAGEs (RFC 3428) outside any
// dialog, from sip:visitor-<chat id>@<domain>: a phone answers to that
// URI, as softphones answer a MESSAGE, and the answer reaches the chat
// (onMessage). "The visitor is typing" goes both ways as RFC 3994
// isComposing documents.

// ServeChats hands agents' MESSAGEs to visitors' chats to inbox, from
// now on (the calls start after the SIP server).
func (s *Server) ServeChats(inbox calls.ChatInbox) { s.chats.Store(&inbox) }

var _ calls.Messenger = (*Server)(nil)

const (
	contentTextPlain   = "text/plain;charset=UTF-8"
	contentIsComposing = "application/im-iscomposing+xml"
)

// Message implements calls.Messenger: a text/plain MESSAGE to the agent's
// most recently registered contact.
func (s *Server) Message(ctx context.Context, agent, chat, display, text string) error {
	return s.page(ctx, agent, chat, display, contentTextPlain, []byte(text))
}

// Composing implements calls.Messenger: an isComposing MESSAGE (RFC 3994)
// saying the visitor is typing (active, refreshed within 60 s) or idle.
func (s *Server) Composing(ctx context.Context, agent, chat string, active bool) error {
	state := "idle"
	if active {
		state = "active"
	}
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>` + state +
		`</state><contenttype>text/plain</contenttype><refresh>60</refresh></isComposing>`
	return s.page(ctx, agent, chat, "", contentIsComposing, []byte(body))
}

// page sends a MESSAGE of contentType to agent from chat's visitor.
func (s *Server) page(ctx context.Context, agent, chat, display, contentType string, body []byte) error {
	bs := s.locator.Lookup(agent)
	if len(bs) == 0 {
		return fmt.Errorf("message %s: %w", agent, ErrNotRegistered)
	}
	b := slices.MaxFunc(bs, func(a, b location.Binding) int { return a.Expires.Compare(b.Expires) })
	var target, aor sipmsg.Uri
	if err := sipmsg.ParseUri(b.Contact, &target); err != nil {
		return fmt.Errorf("contact %q: %w", b.Contact, err)
	}
	if err := sipmsg.ParseUri(agent, &aor); err != nil {
		return fmt.Errorf("agent %q: %w", agent, err)
	}
	req := sipmsg.NewRequest(sipmsg.MESSAGE, target)
	from := &sipmsg.FromHeader{DisplayName: display, Params: sipmsg.NewParams(),
		Address: sipmsg.Uri{Scheme: "sip", User: visitorPrefix + chat, Host: aor.Host}}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: aor, Params: sipmsg.NewParams()})
	req.AppendHeader(sipmsg.NewHeader("User-Agent", s.cfg.userAgent()))
	req.AppendHeader(sipmsg.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	s.routeToBinding(req, target, b)
	res, err := s.do(ctx, req)
	switch {
	case err != nil:
		return fmt.Errorf("message %s: %w", agent, err)
	case !res.IsSuccess():
		return fmt.Errorf("message %s: %w", agent, &DialError{Status: res.StatusCode, Reason: res.Reason})
	}
	return nil
}

// onChatMessage takes an agent's MESSAGE to the visitor of chat id (the
// sender authenticated as user): text to the visitor, or isComposing.
func (s *Server) onChatMessage(x *exchange, user, id string) {
	var inbox calls.ChatInbox
	if p := s.chats.Load(); p != nil {
		inbox = *p
	}
	agent, open := "", false
	if inbox != nil {
		agent, open = inbox.ChatAgent(id)
	}
	if !open {
		x.respond(404, "No such visitor", nil)
		return
	}
	var aor sipmsg.Uri
	if sipmsg.ParseUri(agent, &aor) != nil || !s.auth.mayAct(user, aor.User) {
		x.respond(403, "Not this visitor's agent", nil)
		return
	}
	var mt string
	if ct := x.req.ContentType(); ct != nil {
		mt, _, _ = mime.ParseMediaType(ct.Value())
	}
	var err error
	switch mt {
	case "text/plain":
		err = inbox.AgentSays(id, agent, string(x.req.Body()))
	case contentIsComposing:
		var doc struct {
			State string `xml:"state"`
		}
		if xml.Unmarshal(x.req.Body(), &doc) != nil {
			x.respond(400, "Malformed isComposing document", nil)
			return
		}
		err = inbox.AgentTyping(id, agent, strings.TrimSpace(doc.State) == "active")
	default:
		x.respond(415, "Unsupported Media Type", nil, sipmsg.NewHeader("Accept", "text/plain, "+contentIsComposing))
		return
	}
	switch {
	case err == calls.ErrChatText:
		x.respond(413, "Message Too Large", nil)
	case err != nil:
		x.respond(404, "No such visitor", nil)
	default:
		x.respond(200, "OK", nil)
	}
}
