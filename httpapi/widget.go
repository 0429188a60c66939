package httpapi

import (
	"context"
	"embed"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
)

// widgetFS holds the embeddable widget and the demo page.
//
//go:embed static
var widgetFS embed.FS

// loadAsset prepares one embedded file for serving.
func loadAsset(name, contentType string) *representation {
	body, err := widgetFS.ReadFile("static/" + name)
	if err != nil {
		panic("httpapi: embedded " + name + ": " + err.Error()) // the embed directive guarantees it
	}
	return newRepresentation(contentType, body)
}

// widgetRoutes serves the widget a site embeds with one script tag,
// GET /widget.js, a demo support page that embeds it, GET /, and how to
// embed it, GET /docs. The script's URL
// is not versioned, so it is cached for five minutes and then revalidated
// with its entity tag; sites on other origins may load it (CORP).
func widgetRoutes(r *route.RouterGroup) {
	js := loadAsset("widget.js", "application/javascript; charset=utf-8")
	page := loadAsset("index.html", "text/html; charset=utf-8")
	docs := loadAsset("docs.html", "text/html; charset=utf-8")
	r.GET("/widget.js", func(_ context.Context, c *app.RequestContext) {
		c.Header("Cross-Origin-Resource-Policy", "cross-origin")
		c.Header("Vary", "Accept-Encoding")
		js.serve(c, "public, max-age=300")
	})
	r.GET("/", func(_ context.Context, c *app.RequestContext) {
		c.Header("Vary", "Accept-Encoding")
		page.serve(c, "no-cache")
	})
	r.GET("/docs", func(_ context.Context, c *app.RequestContext) {
		c.Header("Vary", "Accept-Encoding")
		docs.serve(c, "no-cache")
	})
}
