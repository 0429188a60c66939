package httpapi

import (
	"context"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
)

// Standby reports whether this node's ACD stands by while another node's
// leads the cluster (store.driver nats): standby true, with the leader's
// node name and HTTP address (host:port), both empty while none is
// known. nil in Deps: this node always runs its ACD.
type Standby func() (node, addr string, standby bool)

// standbyRetry is the Retry-After of a standby's answers, in seconds: by
// then it may lead, if the leader died.
const standbyRetry = "1"

// standbyGate answers the ACD's routes on a standby node with 503, a
// Retry-After, and a JSON error naming the leader, instead of serving
// them from an ACD that does not run: the agents, calls, chats,
// callbacks and console live on the leader alone. A load balancer in
// front retries them on another node (README, Several nodes on NATS
// JetStream).
func standbyGate(standby Standby) app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		node, addr, ok := standby()
		if !ok {
			c.Next(ctx)
			return
		}
		c.Header("Retry-After", standbyRetry)
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, map[string]any{
			"error":   "standby",
			"message": "this node's ACD stands by: the cluster's leader serves it",
			"leader":  map[string]string{"node": node, "http": addr},
		})
	}
}
