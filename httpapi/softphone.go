package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/calls"
)

// Softphones is what the softphone API needs of the agents' browser
// softphones (media.Softphones, docs/softphone.md).
type Softphones interface {
	// Connect answers the offer of agent's browser, replacing its
	// softphone if it had one; calls.ErrBadOffer and calls.ErrMediaFull
	// are wrapped as such.
	Connect(agent, offer string) (answer string, err error)
	// Disconnect ends agent's softphone, reporting whether it had one.
	Disconnect(agent string) bool
	// Connected reports whether agent has a softphone that can ring.
	Connected(agent string) bool
}

// softphoneRoutes serves the agent's browser softphone, authenticated by
// the agent's bearer token: POST /v1/agents/me/softphone with the
// browser's offer ({"sdp"}, ICE gathering complete) answers it (201
// {"sdp"}), DELETE /v1/agents/me/softphone turns it off (204). Rings,
// answers and hang-ups then go over the connection's "softphone" data
// channel.
func softphoneRoutes(r *route.RouterGroup, agents Agents, phones Softphones, refused *prometheus.CounterVec) {
	auth := bearer(agents)
	r.POST("/v1/agents/me/softphone", func(_ context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		var body struct {
			SDP string `json:"sdp"`
		}
		if !readJSON(c, &body) {
			return
		}
		if body.SDP == "" {
			writeError(c, http.StatusBadRequest, "no_sdp", "sdp (the browser's offer) is required")
			return
		}
		answer, err := phones.Connect(uri, body.SDP)
		c.Header("Cache-Control", "no-store")
		switch {
		case errors.Is(err, calls.ErrBadOffer):
			writeError(c, http.StatusBadRequest, "bad_offer", err.Error())
		case errors.Is(err, calls.ErrMediaFull):
			refused.WithLabelValues("media.max_calls").Inc()
			c.Header("Retry-After", "5")
			writeError(c, http.StatusServiceUnavailable, "media_full", err.Error())
		case err != nil:
			c.Header("Retry-After", "5")
			writeError(c, http.StatusServiceUnavailable, "unavailable", err.Error())
		default:
			c.Header("Location", "/v1/agents/me/softphone")
			c.JSON(http.StatusCreated, map[string]string{"sdp": answer})
		}
	})
	r.DELETE("/v1/agents/me/softphone", func(_ context.Context, c *app.RequestContext) {
		uri, ok := auth(c)
		if !ok {
			return
		}
		if !phones.Disconnect(uri) {
			writeError(c, http.StatusNotFound, "no_softphone", "no softphone is connected")
			return
		}
		c.Status(http.StatusNoContent)
	})
}
