package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"

	"github.com/switchboard/switchboard/calls"
)

// Chats is what the chat API needs of the call manager (docs/calls.md).
type Chats interface {
	StartChat(group string, v calls.Visitor, msgID, first string) (calls.ChatView, error)
	Chat(id string, after int) (calls.ChatView, []calls.ChatLine, <-chan struct{}, error)
	SayInChat(id, msgID, text string) error
	TypingInChat(id string, active bool) error
	LeaveChat(id string) error
}

// chatView is a chat as the widget sees it.
type chatView struct {
	ID         string `json:"chat_id"`
	Group      string `json:"group"`
	State      string `json:"state"`
	Position   int    `json:"position,omitempty"`
	EWTSeconds *int   `json:"ewt_seconds,omitempty"`
	Agent      string `json:"agent,omitempty"`
	Typing     bool   `json:"typing,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

func chatViewOf(v calls.ChatView) chatView {
	out := chatView{ID: v.ID, Group: v.Group, State: v.State, Agent: v.Agent, Typing: v.Typing, Reason: v.Reason}
	if v.State == calls.ChatQueued {
		secs := int(v.EWT.Seconds())
		out.Position, out.EWTSeconds = v.Position, &secs
	}
	return out
}

// chatLine is a line of the transcript: the agent's message, or the fate
// of one of the visitor's.
type chatLine struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Text string `json:"text,omitempty"`
}

// chatMessage is the body of POST /v1/chats and of POST
// /v1/chats/{id}/messages: the visitor's message and its own id for it.
type chatMessage struct {
	Group string `json:"group"`
	ID    string `json:"id"`
	Text  string `json:"text"`
}

// chatRoutes serves the visitor's chats: POST /v1/chats, GET
// /v1/chats/{id}, GET /v1/chats/{id}/events (SSE), POST
// /v1/chats/{id}/messages, PUT /v1/chats/{id}/typing, DELETE
// /v1/chats/{id}. The chat id is the capability: 96 random bits.
func chatRoutes(r *route.RouterGroup, cs Chats, web WebConfig, codec visitorCodec) {
	allow := func(c *app.RequestContext) { visitorHeaders(c, web) }
	unknown := func(c *app.RequestContext) {
		writeError(c, http.StatusNotFound, "unknown_chat", "no chat "+strconv.Quote(c.Param("id")))
	}
	r.OPTIONS("/v1/chats", preflightCalls(web, "POST, OPTIONS"))
	r.OPTIONS("/v1/chats/:id", preflightCalls(web, "GET, DELETE, OPTIONS"))
	r.OPTIONS("/v1/chats/:id/messages", preflightCalls(web, "POST, OPTIONS"))
	r.OPTIONS("/v1/chats/:id/typing", preflightCalls(web, "PUT, OPTIONS"))
	r.POST("/v1/chats", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		var req chatMessage
		if !readJSON(c, &req) {
			return
		}
		var v Visitor
		v, req.Group = codec.visitor(c, req.Group)
		if req.Group == "" {
			writeError(c, http.StatusBadRequest, "no_group", "group is required")
			return
		}
		if req.ID == "" {
			req.ID = "m1"
		}
		view, err := cs.StartChat(req.Group, visitorOf(v, req.Group), req.ID, req.Text)
		switch {
		case errors.Is(err, calls.ErrChatText):
			writeError(c, http.StatusBadRequest, "bad_text", err.Error())
			return
		case errors.Is(err, calls.ErrChatsOff):
			writeError(c, http.StatusNotFound, "chats_off", "chats are not served here")
			return
		case err != nil:
			placeError(c, err)
			return
		}
		c.Header("Location", "/v1/chats/"+view.ID)
		c.JSON(http.StatusCreated, chatViewOf(view))
	})
	r.GET("/v1/chats/:id", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		view, _, _, err := cs.Chat(c.Param("id"), 0)
		if err != nil {
			unknown(c)
			return
		}
		c.JSON(http.StatusOK, chatViewOf(view))
	})
	r.POST("/v1/chats/:id/messages", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		var req chatMessage
		if !readJSON(c, &req) {
			return
		}
		switch err := cs.SayInChat(c.Param("id"), req.ID, req.Text); {
		case errors.Is(err, calls.ErrUnknownChat):
			unknown(c)
		case errors.Is(err, calls.ErrChatEnded):
			writeError(c, http.StatusConflict, "chat_ended", err.Error())
		case errors.Is(err, calls.ErrChatText):
			writeError(c, http.StatusBadRequest, "bad_text", err.Error())
		case errors.Is(err, calls.ErrChatBusy):
			c.Header("Retry-After", "1")
			writeError(c, http.StatusTooManyRequests, "chat_busy", err.Error())
		case err != nil:
			writeError(c, http.StatusServiceUnavailable, "unavailable", err.Error())
		default:
			c.Status(http.StatusAccepted)
		}
	})
	r.PUT("/v1/chats/:id/typing", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		var req struct {
			Active bool `json:"active"`
		}
		if !readJSON(c, &req) {
			return
		}
		if err := cs.TypingInChat(c.Param("id"), req.Active); err != nil {
			unknown(c)
			return
		}
		c.Status(http.StatusNoContent)
	})
	r.DELETE("/v1/chats/:id", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		if err := cs.LeaveChat(c.Param("id")); err != nil {
			unknown(c)
			return
		}
		c.Status(http.StatusNoContent)
	})
	r.GET("/v1/chats/:id/events", func(ctx context.Context, c *app.RequestContext) {
		allow(c)
		if _, _, _, err := cs.Chat(c.Param("id"), 0); err != nil {
			unknown(c)
			return
		}
		after, _ := strconv.Atoi(string(c.GetHeader("Last-Event-ID")))
		chatEvents(ctx, c, cs, c.Param("id"), after)
	})
}

// chatEvents streams a chat as SSE: its view (event chat) now and at
// every change, each followed by the lines of its transcript after line
// after (event line, whose id is the line's number: a reconnecting
// browser sends the last in Last-Event-ID), until it ended.
func chatEvents(ctx context.Context, c *app.RequestContext, cs Chats, id string, after int) {
	send := eventStream(c)
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	var last chatView
	for first := true; ; first = false {
		view, lines, changed, err := cs.Chat(id, after)
		if err != nil {
			return
		}
		// The chat, then its new lines: an agent's name comes before the
		// lines it makes sense of.
		if v := chatViewOf(view); first || !sameChatView(v, last) {
			if !send("event: chat\ndata: %s\n\n", mustJSON(v)) {
				return
			}
			last = v
		}
		for _, l := range lines {
			if !send("id: %d\nevent: line\ndata: %s\n\n", l.Seq, mustJSON(chatLine{Type: l.Kind, ID: l.ID, Text: l.Text})) {
				return
			}
			after = l.Seq
		}
		if view.State == calls.ChatEnded {
			return
		}
		select {
		case <-changed:
		case <-beat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// sameChatView compares two views, their EWTs by value.
func sameChatView(a, b chatView) bool {
	ae, be := a.EWTSeconds, b.EWTSeconds
	a.EWTSeconds, b.EWTSeconds = nil, nil
	return a == b && (ae == nil) == (be == nil) && (ae == nil || *ae == *be)
}
