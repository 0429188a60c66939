package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"

	"github.com/switchboard/switchboard/acd"
)

// Agents is what the agent API needs of the ACD.
type Agents interface {
	// AgentByToken returns the agent whose bearer token this is.
	AgentByToken(token string) (uri string, ok bool)
	// AgentState returns an agent's state name and since when.
	AgentState(uri string) (state string, since time.Time, ok bool)
	// SetAway sets the agent away (for a reason, or ""), or back to
	// available (ending wrap-up); acd.ErrOffline when it cannot be
	// available, its phone unregistered and no softphone connected;
	// acd.ErrUnknownReason for a reason not among AwayReasons.
	SetAway(ctx context.Context, uri string, away bool, reason string) error
	// AwayReason is the reason the agent gave for being away, if any.
	AwayReason(uri string) string
	// AwayReasons are the reasons an agent may give.
	AwayReasons() []acd.AwayReason
	// AgentName is the agent's display name.
	AgentName(uri string) string
	// Status is every group's availability, for the console.
	Status(now time.Time) []acd.GroupStatus
	// Agents is every agent's state, for the console's transfer choice.
	Agents(now time.Time) []acd.AgentStatus
}

// agentRoutes serves the agent API, authenticated by a bearer token per
// agent: GET /v1/agents/me, and PUT /v1/agents/me/state with
// {"state": "available" | "away", "reason": <an away reason's id>}. With phones (nil: none), the agent's
// view says whether its browser softphone is connected.
func agentRoutes(r *route.RouterGroup, agents Agents, phones Softphones) {
	auth := bearer(agents)
	show := func(c *app.RequestContext, uri string) {
		state, since, _ := agents.AgentState(uri)
		view := map[string]any{"agent": uri, "state": state, "since": since.UTC().Format(time.RFC3339)}
		if reason := agents.AwayReason(uri); reason != "" {
			view["away_reason"] = reason
		}
		if phones != nil {
			view["softphone"] = phones.Connected(uri)
		}
		c.JSON(http.StatusOK, view)
	}
	r.GET("/v1/agents/me", func(_ context.Context, c *app.RequestContext) {
		if uri, ok := auth(c); ok {
			show(c, uri)
		}
	})
	r.PUT("/v1/agents/me/state", func(ctx context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		var body struct {
			State  string `json:"state"`
			Reason string `json:"reason"`
		}
		if !readJSON(c, &body) {
			return
		}
		switch body.State {
		case "available", "away":
			switch err := agents.SetAway(ctx, uri, body.State == "away", body.Reason); {
			case errors.Is(err, acd.ErrOffline):
				writeError(c, http.StatusConflict, "offline",
					"no phone of yours is registered nor softphone connected: register your phone, or use the browser as your phone, to take calls")
				return
			case errors.Is(err, acd.ErrUnknownReason):
				var ids []string
				for _, r := range agents.AwayReasons() {
					ids = append(ids, r.ID)
				}
				writeError(c, http.StatusBadRequest, "unknown_reason",
					fmt.Sprintf("reason %q is not one of the away reasons: %s", body.Reason, strings.Join(ids, ", ")))
				return
			}
			show(c, uri)
		default:
			writeError(c, http.StatusBadRequest, "bad_state", `state must be "available" or "away"`)
		}
	})
}

// bearer returns the check of an agent's bearer token: the agent's URI,
// or false after answering 401.
func bearer(agents Agents) func(c *app.RequestContext) (string, bool) {
	return func(c *app.RequestContext) (string, bool) {
		token, ok := strings.CutPrefix(string(c.GetHeader("Authorization")), "Bearer ")
		uri, known := agents.AgentByToken(strings.TrimSpace(token))
		if !ok || !known {
			c.Header("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(c, http.StatusUnauthorized, "unauthorized", "a valid agent bearer token is required")
			return "", false
		}
		return uri, true
	}
}

// writeError answers with the JSON error body every endpoint uses.
func writeError(c *app.RequestContext, status int, code, message string) {
	c.JSON(status, map[string]string{"error": code, "message": message})
}
