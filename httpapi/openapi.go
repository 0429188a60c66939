package httpapi

import (
	"context"
	_ "embed"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
)

// openAPIDocument is the OpenAPI 3.1 description of every endpoint;
// openapi_test.go checks it against the routes and real responses.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIRoutes serves GET /openapi.json, revalidated with its entity tag.
func openAPIRoutes(r *route.RouterGroup) {
	doc := newRepresentation("application/json", openAPIDocument)
	r.GET("/openapi.json", func(_ context.Context, c *app.RequestContext) {
		c.Header("Vary", "Accept-Encoding")
		doc.serve(c, "no-cache")
	})
}
