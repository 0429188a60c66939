package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
)

// Calls is what the calls API needs of the call manager.
type Calls interface {
	Place(r calls.Request) (calls.View, string, error)
	Get(id string) (calls.View, <-chan struct{}, error)
	Hangup(id string) error
	// RestartICE answers the visitor's ICE restart offer (docs/calls.md).
	RestartICE(id, offer string) (string, error)
}

// callRequest is the body of POST /v1/calls.
type callRequest struct {
	Group string `json:"group"`
	SDP   string `json:"sdp"`
	// Chat is the visitor's chat: the call goes to its agent first.
	Chat string `json:"chat_id"`
}

// restartRequest is the body of POST /v1/calls/{id}/ice-restart, and
// its answer's.
type restartRequest struct {
	SDP string `json:"sdp"`
}

// callView is a call as the visitor's widget sees it (docs/calls.md).
type callView struct {
	ID         string `json:"call_id"`
	Group      string `json:"group"`
	State      string `json:"state"`
	Position   int    `json:"position,omitempty"`
	EWTSeconds *int   `json:"ewt_seconds,omitempty"`
	// CallbackOffered: the caller waited past the group's max_wait.
	CallbackOffered bool   `json:"callback_offered,omitempty"`
	Agent           string `json:"agent,omitempty"`
	// AgentURI is the agent's address-of-record, on the console only.
	AgentURI string `json:"agent_uri,omitempty"`
	// Held: the agent holds the call (talking); the visitor hears the
	// hold tone.
	Held   bool   `json:"held"`
	Reason string `json:"reason,omitempty"`
	SDP    string `json:"sdp,omitempty"`
}

func callViewOf(v calls.View) callView {
	out := callView{ID: v.ID, Group: v.Group, State: v.State.String(), Agent: v.Agent, Held: v.Held, Reason: v.Reason}
	if v.State == calls.StateQueued {
		secs := int(v.EWT.Seconds())
		out.Position, out.EWTSeconds, out.CallbackOffered = v.Position, &secs, v.CallbackOffered
	}
	return out
}

// callRoutes serves the visitor's calls: POST /v1/calls, GET
// /v1/calls/{id}, GET /v1/calls/{id}/events (SSE), DELETE
// /v1/calls/{id} and POST /v1/calls/{id}/ice-restart. The call id is the
// capability: 96 random bits.
func callRoutes(r *route.RouterGroup, cs Calls, web WebConfig, codec visitorCodec, refused *prometheus.CounterVec) {
	allow := func(c *app.RequestContext) { visitorHeaders(c, web) }
	r.OPTIONS("/v1/calls", preflightCalls(web, "POST, OPTIONS"))
	r.OPTIONS("/v1/calls/:id", preflightCalls(web, "GET, DELETE, OPTIONS"))
	r.OPTIONS("/v1/calls/:id/ice-restart", preflightCalls(web, "POST, OPTIONS"))
	r.POST("/v1/calls", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		var req callRequest
		if !readJSON(c, &req) {
			return
		}
		var v Visitor
		v, req.Group = codec.visitor(c, req.Group)
		switch {
		case req.Group == "":
			writeError(c, http.StatusBadRequest, "no_group", "group is required")
			return
		case req.SDP == "":
			writeError(c, http.StatusBadRequest, "no_sdp", "sdp (the browser's offer) is required")
			return
		}
		view, answer, err := cs.Place(calls.Request{Group: req.Group, Offer: req.SDP, Visitor: visitorOf(v, req.Group), Chat: req.Chat})
		if err != nil {
			if errors.Is(err, calls.ErrMediaFull) {
				refused.WithLabelValues("media.max_calls").Inc()
			}
			placeError(c, err)
			return
		}
		out := callViewOf(view)
		out.SDP = answer
		c.Header("Location", "/v1/calls/"+view.ID)
		c.JSON(http.StatusCreated, out)
	})
	r.GET("/v1/calls/:id", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		view, _, err := cs.Get(c.Param("id"))
		if err != nil {
			writeError(c, http.StatusNotFound, "unknown_call", "no call "+strconv.Quote(c.Param("id")))
			return
		}
		// The agent the visitor spoke with is tried first next time.
		if v, err := codec.decode(string(c.Cookie(cookieName)), time.Now()); view.AgentURI != "" &&
			view.State >= calls.StateTalking && (err != nil || v.LastAgent != view.AgentURI) {
			v.LastAgent = view.AgentURI
			codec.set(c, v)
		}
		c.JSON(http.StatusOK, callViewOf(view))
	})
	r.DELETE("/v1/calls/:id", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		if err := cs.Hangup(c.Param("id")); err != nil {
			writeError(c, http.StatusNotFound, "unknown_call", "no call "+strconv.Quote(c.Param("id")))
			return
		}
		c.Status(http.StatusNoContent)
	})
	r.POST("/v1/calls/:id/ice-restart", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		var req restartRequest
		if !readJSON(c, &req) {
			return
		}
		if req.SDP == "" {
			writeError(c, http.StatusBadRequest, "no_sdp", "sdp (the browser's ICE restart offer) is required")
			return
		}
		answer, err := cs.RestartICE(c.Param("id"), req.SDP)
		if err != nil {
			if errors.Is(err, calls.ErrRestartLimit) {
				refused.WithLabelValues("media.ice.max_restarts").Inc()
			}
			restartError(c, c.Param("id"), err)
			return
		}
		c.JSON(http.StatusOK, restartRequest{SDP: answer})
	})
	r.GET("/v1/calls/:id/events", func(ctx context.Context, c *app.RequestContext) {
		allow(c)
		if _, _, err := cs.Get(c.Param("id")); err != nil {
			writeError(c, http.StatusNotFound, "unknown_call", "no call "+strconv.Quote(c.Param("id")))
			return
		}
		callEvents(ctx, c, cs, c.Param("id"))
	})
}

// callEvents streams a call's view as SSE: now, at every change, and a
// last time when it ended.
func callEvents(ctx context.Context, c *app.RequestContext, cs Calls, id string) {
	send := eventStream(c)
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		view, changed, err := cs.Get(id)
		if err != nil {
			return
		}
		if !send("event: call\ndata: %s\n\n", mustJSON(callViewOf(view))) || view.State == calls.StateEnded {
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

// visitorOf is what the call tells the agent and the router about v.
func visitorOf(v Visitor, group string) calls.Visitor {
	q := url.Values{"group": {group}}
	if v.Language != "" {
		q.Set("language", v.Language)
	}
	if len(v.Pages) > 0 {
		q.Set("page", v.Pages[len(v.Pages)-1])
	}
	if v.Customer != "" {
		q.Set("customer", v.Customer)
	}
	if v.Tier != "" {
		q.Set("tier", v.Tier)
	}
	return calls.Visitor{Language: v.Language, Preferred: v.LastAgent, Tier: v.Tier, Context: q.Encode()}
}

// placeError answers a call that could not be placed.
func placeError(c *app.RequestContext, err error) {
	var refused *calls.RefusedError
	switch {
	case errors.Is(err, calls.ErrMediaFull):
		c.Header("Retry-After", "5")
		writeError(c, http.StatusServiceUnavailable, "media_full", err.Error())
	case errors.Is(err, calls.ErrBadOffer):
		writeError(c, http.StatusBadRequest, "bad_offer", err.Error())
	case errors.Is(err, acd.ErrUnknownGroup):
		writeError(c, http.StatusNotFound, "unknown_group", err.Error())
	case errors.As(err, &refused):
		code := map[error]string{acd.ErrGroupClosed: "group_closed", acd.ErrQueueFull: "queue_full",
			calls.ErrNoAgents: "no_agents"}[refused.Err]
		// Retry-After is when to try again, not the wait of a queue one
		// could not join; the wait is shown only where there is a queue.
		c.Header("Retry-After", strconv.Itoa(max(int(refused.RetryAfter.Seconds()), 1)))
		body := map[string]any{"error": code, "message": refused.Error()}
		if refused.Err == acd.ErrQueueFull {
			body["ewt_seconds"] = int(refused.EWT.Seconds())
		}
		c.JSON(http.StatusServiceUnavailable, body)
	default:
		c.Header("Retry-After", "5")
		writeError(c, http.StatusServiceUnavailable, "unavailable", err.Error())
	}
}

// restartError answers an ICE restart that was refused.
func restartError(c *app.RequestContext, id string, err error) {
	switch {
	case errors.Is(err, calls.ErrUnknownCall):
		writeError(c, http.StatusNotFound, "unknown_call", "no call "+strconv.Quote(id))
	case errors.Is(err, calls.ErrCallEnded):
		writeError(c, http.StatusConflict, "call_ended", err.Error())
	case errors.Is(err, calls.ErrBadOffer):
		writeError(c, http.StatusBadRequest, "bad_offer", err.Error())
	case errors.Is(err, calls.ErrRestartBusy):
		c.Header("Retry-After", "1")
		writeError(c, http.StatusTooManyRequests, "restart_busy", err.Error())
	case errors.Is(err, calls.ErrRestartLimit):
		writeError(c, http.StatusTooManyRequests, "restart_limit", err.Error())
	default:
		c.Header("Retry-After", "5")
		writeError(c, http.StatusServiceUnavailable, "unavailable", err.Error())
	}
}

// visitorHeaders are the headers of every answer of the calls and
// callbacks APIs: CORS with credentials for configured origins, no store.
func visitorHeaders(c *app.RequestContext, web WebConfig) {
	if cors(c, web.AllowedOrigins) {
		c.Header("Access-Control-Allow-Credentials", "true")
		c.Header("Access-Control-Expose-Headers", "Location, Retry-After")
	}
	c.Header("Cache-Control", "no-store")
}

// preflightCalls answers CORS preflights of the calls API.
func preflightCalls(web WebConfig, methods string) app.HandlerFunc {
	return func(_ context.Context, c *app.RequestContext) {
		if cors(c, web.AllowedOrigins) {
			c.Header("Access-Control-Allow-Methods", methods)
			c.Header("Access-Control-Allow-Headers", "Content-Type")
			c.Header("Access-Control-Allow-Credentials", "true")
			c.Header("Access-Control-Max-Age", "600")
		}
		c.Status(http.StatusNoContent)
	}
}
