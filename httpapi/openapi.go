package httpapi

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
)

// openAPIDocument is the OpenAPI 3.1 description of every endpoint;
// openapi_test.go checks it against the routes and real responses.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIETag is the document's strong entity tag.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// openAPIRoutes serves GET /openapi.json.
func openAPIRoutes(r *route.RouterGroup) {
	r.GET("/openapi.json", func(_ context.Context, c *app.RequestContext) {
		c.Header("ETag", openAPIETag)
		if matches(string(c.GetHeader("If-None-Match")), openAPIETag) {
			c.Status(http.StatusNotModified)
			return
		}
		c.Data(http.StatusOK, "application/json", openAPIDocument)
	})
}
