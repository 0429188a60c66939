package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"

	"github.com/switchboard/switchboard/acd"
)

// Supervisors is what the supervisor view needs of the ACD.
type Supervisors interface {
	// SupervisorByToken returns the supervisor whose bearer token this is.
	SupervisorByToken(token string) (name string, ok bool)
	// Board is every agent's state and every queue at now.
	Board(now time.Time) acd.Board
	// AwayReasons name the reasons agents give for being away.
	AwayReasons() []acd.AwayReason
}

// boardEvery is how often a supervisor's event stream looks at the board;
// an event goes out only when it changed.
const boardEvery = time.Second

// boardAgent is an agent on the board, as JSON.
type boardAgent struct {
	URI    string   `json:"uri"`
	Name   string   `json:"name"`
	State  string   `json:"state"`
	Since  string   `json:"since"`
	Away   string   `json:"away_reason,omitempty"`
	Groups []string `json:"groups"`
}

func boardJSON(b acd.Board, supervisor string, reasons []acd.AwayReason) map[string]any {
	agents, groups := make([]boardAgent, 0, len(b.Agents)), make([]map[string]any, 0, len(b.Groups))
	for _, a := range b.Agents {
		agents = append(agents, boardAgent{URI: a.URI, Name: a.Name, State: a.State, Away: a.Away,
			Since: a.Since.UTC().Format(time.RFC3339), Groups: append([]string{}, a.Groups...)})
	}
	for _, g := range b.Groups {
		j := consoleGroup(g.GroupStatus) // the console's, and:
		j["oldest_wait_seconds"], j["served_today"], j["abandoned_today"] = int(g.OldestWait.Seconds()), g.Served, g.Abandoned
		groups = append(groups, j)
	}
	names := make(map[string]string, len(reasons))
	for _, r := range reasons {
		names[r.ID] = r.Name
	}
	return map[string]any{"supervisor": supervisor, "agents": agents, "groups": groups, "away_reasons": names}
}

// supervisorRoutes serves the supervisor view: the page (/supervisor), and
// the board as JSON (GET /v1/supervisor) and as server-sent events (GET
// /v1/supervisor/events: an event board at once and whenever it changes),
// both for a supervisor's bearer token (acd.supervisors).
func supervisorRoutes(r *route.RouterGroup, sv Supervisors) {
	page := loadAsset("supervisor.html", "text/html; charset=utf-8")
	js := loadAsset("supervisor.js", "application/javascript; charset=utf-8")
	r.GET("/supervisor", func(_ context.Context, c *app.RequestContext) { page.serve(c, "no-cache") })
	r.GET("/supervisor.js", func(_ context.Context, c *app.RequestContext) { js.serve(c, "no-cache") })
	auth := func(c *app.RequestContext) (string, bool) {
		token, ok := strings.CutPrefix(string(c.GetHeader("Authorization")), "Bearer ")
		name, known := sv.SupervisorByToken(strings.TrimSpace(token))
		if !ok || !known {
			c.Header("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(c, http.StatusUnauthorized, "unauthorized", "a valid supervisor bearer token is required")
			return "", false
		}
		return name, true
	}
	r.GET("/v1/supervisor", func(_ context.Context, c *app.RequestContext) {
		name, ok := auth(c)
		if !ok {
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, boardJSON(sv.Board(time.Now()), name, sv.AwayReasons()))
	})
	r.GET("/v1/supervisor/events", func(ctx context.Context, c *app.RequestContext) {
		name, ok := auth(c)
		if !ok {
			return
		}
		c.Header("Cache-Control", "no-store")
		send := eventStream(c)
		tick := time.NewTicker(boardEvery)
		defer tick.Stop()
		var last []byte
		beat := time.Now()
		for {
			if b := mustJSON(boardJSON(sv.Board(time.Now()), name, sv.AwayReasons())); !bytes.Equal(b, last) {
				if !send("event: board\ndata: %s\n\n", b) {
					return
				}
				last, beat = b, time.Now()
			} else if time.Since(beat) >= heartbeat {
				if !send(": heartbeat\n\n") {
					return
				}
				beat = time.Now()
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	})
}
