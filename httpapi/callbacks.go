package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/ratelimit"
)

// Callbacks is what the callback API and the agent console need of the
// call manager.
type Callbacks interface {
	RequestCallback(ctx context.Context, r calls.CallbackRequest) (calls.CallbackView, error)
	Callback(id string) (calls.CallbackView, error)
	CancelCallback(ctx context.Context, id string) error
	TakeCallback(ctx context.Context, id, agent string) (calls.CallbackView, error)
	DoneCallback(ctx context.Context, id, agent string) error
	Callbacks() []calls.CallbackView
	Calls() []calls.View
	PhonePolicy() calls.PhonePolicy
	// History is what an agent took today, newest first (the console).
	History(agent string, now time.Time) []calls.Handled
}

// RateLimits caps callback requests (calls.CallbackConfig's fields).
type RateLimits struct {
	PerVisitor, PerIP int
	Window            time.Duration
}

// maxNameLen bounds the name a visitor gives.
const maxNameLen = 64

// callbackRequest is the body of POST /v1/callbacks.
type callbackRequest struct {
	Group string `json:"group"`
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

// callbackView is a callback as the widget and the console see it.
type callbackView struct {
	ID         string            `json:"callback_id"`
	Group      string            `json:"group"`
	State      string            `json:"state"`
	Phone      string            `json:"phone"`
	Name       string            `json:"name,omitempty"`
	Position   int               `json:"position,omitempty"`
	EWTSeconds *int              `json:"ewt_seconds,omitempty"`
	Band       string            `json:"ewt_band,omitempty"`
	Attempts   int               `json:"attempts"`
	Enqueued   string            `json:"enqueued"`
	Agent      string            `json:"agent,omitempty"`   // console only
	Context    map[string]string `json:"context,omitempty"` // console only
}

func callbackViewOf(v calls.CallbackView, console bool) callbackView {
	out := callbackView{ID: v.ID, Group: v.Group, State: string(v.State), Phone: v.Phone, Name: v.Name,
		Attempts: len(v.Attempts), Enqueued: v.Enqueued.UTC().Format(time.RFC3339)}
	if v.State == calls.CallbackQueued {
		secs := int(v.EWT.Seconds())
		out.Position, out.EWTSeconds, out.Band = v.Position, &secs, v.Band
	}
	if console {
		out.Agent = v.Agent
		if q, err := url.ParseQuery(v.Visitor.Context); err == nil {
			out.Context = make(map[string]string, len(q))
			for k := range q {
				out.Context[k] = q.Get(k)
			}
		}
	}
	return out
}

// callbackRoutes serves the visitor's callbacks: POST /v1/callbacks,
// GET and DELETE /v1/callbacks/{id}.
func callbackRoutes(r *route.RouterGroup, cbs Callbacks, web WebConfig, codec visitorCodec, limits RateLimits, refused *prometheus.CounterVec) {
	perVisitor, perIP := ratelimit.NewWindow(limits.PerVisitor, limits.Window), ratelimit.NewWindow(limits.PerIP, limits.Window)
	tooMany := func(c *app.RequestContext, limit string, wait time.Duration) {
		refused.WithLabelValues(limit).Inc()
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(c, http.StatusTooManyRequests, "rate_limited", "too many callback requests ("+limit+"); try again later")
	}
	allow := func(c *app.RequestContext) { visitorHeaders(c, web) }
	r.GET("/v1/phone", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		phoneCheck(c, cbs.PhonePolicy())
	})
	r.OPTIONS("/v1/phone", preflightCalls(web, "GET, OPTIONS"))
	r.OPTIONS("/v1/callbacks", preflightCalls(web, "POST, OPTIONS"))
	r.OPTIONS("/v1/callbacks/:id", preflightCalls(web, "GET, DELETE, OPTIONS"))
	r.POST("/v1/callbacks", func(ctx context.Context, c *app.RequestContext) {
		allow(c)
		var req callbackRequest
		if !readJSON(c, &req) {
			return
		}
		var v Visitor
		v, req.Group = codec.visitor(c, req.Group)
		switch {
		case req.Group == "":
			writeError(c, http.StatusBadRequest, "no_group", "group is required")
			return
		case strings.TrimSpace(req.Phone) == "":
			writeError(c, http.StatusBadRequest, "bad_phone", "phone is required")
			return
		case len(req.Name) > maxNameLen || strings.IndexFunc(req.Name, unicode.IsControl) >= 0:
			writeError(c, http.StatusBadRequest, "bad_name", "name must be at most 64 characters, without control characters")
			return
		}
		now := time.Now()
		if ok, wait := perIP.Allow(c.ClientIP(), now); !ok {
			tooMany(c, "callbacks.per_ip", wait)
			return
		}
		if v.ID != "" {
			if ok, wait := perVisitor.Allow(v.ID, now); !ok {
				tooMany(c, "callbacks.per_visitor", wait)
				return
			}
		}
		visitor := visitorOf(v, req.Group)
		visitor.Name = req.Name
		view, err := cbs.RequestCallback(ctx, calls.CallbackRequest{Group: req.Group, Phone: req.Phone, Name: req.Name, Visitor: visitor})
		var limited *calls.RateLimitedError
		if errors.As(err, &limited) {
			tooMany(c, limited.Limit, limited.RetryAfter)
			return
		}
		if err != nil {
			callbackError(c, err)
			return
		}
		c.Header("Location", "/v1/callbacks/"+view.ID)
		c.JSON(http.StatusAccepted, callbackViewOf(view, false))
	})
	r.GET("/v1/callbacks/:id", func(_ context.Context, c *app.RequestContext) {
		allow(c)
		view, err := cbs.Callback(c.Param("id"))
		if err != nil {
			callbackError(c, err)
			return
		}
		c.JSON(http.StatusOK, callbackViewOf(view, false))
	})
	r.DELETE("/v1/callbacks/:id", func(ctx context.Context, c *app.RequestContext) {
		allow(c)
		if err := cbs.CancelCallback(ctx, c.Param("id")); err != nil {
			callbackError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
}

// phoneCheck answers GET /v1/phone?number=…: the form's hint (the default
// region and an example number in its national format) and, with a
// number, whether a callback would take it, as POST /v1/callbacks would
// judge it: its E.164 form, or the error code. It changes nothing, so the
// widget can check as the visitor types.
func phoneCheck(c *app.RequestContext, policy calls.PhonePolicy) {
	out := map[string]any{"default_region": strings.ToUpper(policy.DefaultRegion), "example": policy.Example()}
	if raw := strings.TrimSpace(string(c.Query("number"))); raw != "" {
		e164, err := policy.Normalize(raw)
		out["valid"] = err == nil
		switch {
		case err == nil:
			out["e164"] = e164
		case errors.Is(err, calls.ErrBlockedPhoneType):
			out["error"] = "blocked_phone_type"
		case errors.Is(err, calls.ErrCountryNotAllowed):
			out["error"] = "country_not_allowed"
		default:
			out["error"] = "bad_phone"
		}
	}
	c.JSON(http.StatusOK, out)
}

// callbackError answers a callback request that failed.
func callbackError(c *app.RequestContext, err error) {
	switch {
	case errors.Is(err, calls.ErrBadPhone):
		writeError(c, http.StatusBadRequest, "bad_phone", "phone: "+err.Error())
	case errors.Is(err, calls.ErrBlockedPhoneType):
		writeError(c, http.StatusBadRequest, "blocked_phone_type", "phone: "+err.Error())
	case errors.Is(err, calls.ErrCountryNotAllowed):
		writeError(c, http.StatusBadRequest, "country_not_allowed", "phone: "+err.Error())
	case errors.Is(err, calls.ErrUnknownCallback):
		writeError(c, http.StatusNotFound, "unknown_callback", "no such callback")
	case errors.Is(err, calls.ErrCallbackState):
		writeError(c, http.StatusConflict, "wrong_state", err.Error())
	default:
		placeError(c, err)
	}
}

// consoleRoutes serves the agent console: the page, its script, and its
// data (GET /v1/console) and actions on callbacks, all but the page and
// script authenticated by the agent's bearer token.
func consoleRoutes(r *route.RouterGroup, agents Agents, cbs Callbacks) {
	page := loadAsset("console.html", "text/html; charset=utf-8")
	js := loadAsset("console.js", "application/javascript; charset=utf-8")
	r.GET("/console", func(_ context.Context, c *app.RequestContext) { page.serve(c, "no-cache") })
	r.GET("/console.js", func(_ context.Context, c *app.RequestContext) { js.serve(c, "no-cache") })
	auth := bearer(agents)
	r.GET("/v1/console", func(_ context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		state, _, _ := agents.AgentState(uri)
		var groups []map[string]any
		for _, st := range agents.Status(time.Now()) {
			groups = append(groups, consoleGroup(st))
		}
		callbacks := make([]callbackView, 0)
		for _, v := range cbs.Callbacks() {
			callbacks = append(callbacks, callbackViewOf(v, true))
		}
		live := make([]callView, 0)
		for _, v := range cbs.Calls() {
			cv := callViewOf(v)
			cv.AgentURI = v.AgentURI
			live = append(live, cv)
		}
		roster := make([]map[string]string, 0)
		for _, a := range agents.Agents(time.Now()) {
			roster = append(roster, map[string]string{"uri": a.URI, "name": a.Name, "state": a.State.String()})
		}
		history := make([]map[string]any, 0)
		for _, h := range cbs.History(uri, time.Now()) {
			history = append(history, map[string]any{"kind": h.Kind, "id": h.ID, "group": h.Group, "visitor": h.Visitor,
				"start": h.Start.UTC().Format(time.RFC3339), "duration_seconds": int(h.Duration.Seconds()), "outcome": h.Outcome})
		}
		reasons := make([]map[string]string, 0)
		for _, r := range agents.AwayReasons() {
			reasons = append(reasons, map[string]string{"id": r.ID, "name": r.Name})
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, map[string]any{
			"agent": map[string]string{"uri": uri, "name": agents.AgentName(uri), "state": state,
				"away_reason": agents.AwayReason(uri)},
			"away_reasons": reasons, "groups": groups, "callbacks": callbacks, "calls": live, "history": history,
			"agents": roster})
	})
	r.POST("/v1/callbacks/:id/take", func(ctx context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		view, err := cbs.TakeCallback(ctx, c.Param("id"), uri)
		if err != nil {
			callbackError(c, err)
			return
		}
		c.JSON(http.StatusOK, callbackViewOf(view, true))
	})
	r.POST("/v1/callbacks/:id/done", func(ctx context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		if err := cbs.DoneCallback(ctx, c.Param("id"), uri); err != nil {
			callbackError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
}

// consoleGroup is one group's line on the console.
func consoleGroup(st acd.GroupStatus) map[string]any {
	return map[string]any{"id": st.ID, "name": st.Name, "open": st.Open, "state": st.State(), "queue_length": st.QueueLength,
		"ewt_seconds": int(st.EWT.Seconds()), "available": st.Available, "busy": st.Busy, "away": st.Away}
}
