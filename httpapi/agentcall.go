package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
)

// AgentCalls is what the console's call controls need of the call
// manager (calls.Manager): hold and blind transfer of the call the agent
// talks on, whatever its device (SIP phone or browser softphone).
type AgentCalls interface {
	// Hold holds or resumes agent's talking call; calls.ErrNotTalking
	// when there is none.
	Hold(ctx context.Context, agent string, held bool) error
	// Transfer hands agent's talking call to another agent or a group;
	// its errors are those of calls.Manager.Transfer.
	Transfer(ctx context.Context, agent string, to calls.Target) error
}

// agentCallRoutes serves the console's call controls, authenticated by
// the agent's bearer token: POST /v1/agents/me/call/hold {"held": bool}
// and POST /v1/agents/me/call/transfer {"agent": uri} or {"group": id}.
func agentCallRoutes(r *route.RouterGroup, agents Agents, cs AgentCalls) {
	auth := bearer(agents)
	r.POST("/v1/agents/me/call/hold", func(ctx context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		var body struct {
			Held *bool `json:"held"`
		}
		if !readJSON(c, &body) {
			return
		}
		if body.Held == nil {
			writeError(c, http.StatusBadRequest, "no_held", `held (true to hold, false to resume) is required`)
			return
		}
		if err := cs.Hold(ctx, uri, *body.Held); err != nil {
			transferError(c, err)
			return
		}
		c.JSON(http.StatusOK, map[string]bool{"held": *body.Held})
	})
	r.POST("/v1/agents/me/call/transfer", func(ctx context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		var body struct {
			Agent string `json:"agent"`
			Group string `json:"group"`
		}
		if !readJSON(c, &body) {
			return
		}
		if err := cs.Transfer(ctx, uri, calls.Target{Agent: body.Agent, Group: body.Group}); err != nil {
			transferError(c, err)
			return
		}
		c.JSON(http.StatusAccepted, map[string]string{"agent": body.Agent, "group": body.Group})
	})
}

// transferError answers a refused hold or transfer.
func transferError(c *app.RequestContext, err error) {
	var unavailable *acd.UnavailableError
	var refused *calls.RefusedError
	switch {
	case errors.Is(err, calls.ErrNotTalking):
		writeError(c, http.StatusConflict, "not_talking", err.Error())
	case errors.Is(err, calls.ErrNoTarget):
		writeError(c, http.StatusBadRequest, "no_target", `name one of "agent" (a URI) and "group" (an id)`)
	case errors.Is(err, acd.ErrUnknownAgent):
		writeError(c, http.StatusNotFound, "unknown_agent", err.Error())
	case errors.Is(err, acd.ErrUnknownGroup):
		writeError(c, http.StatusNotFound, "unknown_group", err.Error())
	case errors.As(err, &unavailable):
		code := "agent_busy" // reserved, busy, wrap-up
		switch unavailable.State {
		case acd.StateOffline:
			code = "agent_offline"
		case acd.StateAway:
			code = "agent_away"
		}
		writeError(c, http.StatusConflict, code, err.Error())
	case errors.As(err, &refused):
		code := "no_agents"
		if errors.Is(refused.Err, acd.ErrGroupClosed) {
			code = "group_closed"
		}
		writeError(c, http.StatusConflict, code, err.Error())
	default:
		writeError(c, http.StatusServiceUnavailable, "unavailable", err.Error())
	}
}
