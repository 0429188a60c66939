package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
)

// widgetFS holds the embeddable widget and the demo page.
//
//go:embed static
var widgetFS embed.FS

// widgetAsset is one embedded file, ready to serve: its bytes, their gzip form,
// a strong entity tag of the content, and its headers.
type widgetAsset struct {
	contentType, cacheControl, etag string
	body, gzipped                   []byte
}

func loadWidgetAsset(name, contentType, cacheControl string) *widgetAsset {
	body, err := widgetFS.ReadFile("static/" + name)
	if err != nil {
		panic("httpapi: embedded " + name + ": " + err.Error()) // the embed directive guarantees it
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	return &widgetAsset{contentType: contentType, cacheControl: cacheControl,
		etag: `"` + hex.EncodeToString(sum[:12]) + `"`, body: body, gzipped: z.Bytes()}
}

func (a *widgetAsset) serve(_ context.Context, c *app.RequestContext) {
	c.Header("ETag", a.etag)
	c.Header("Cache-Control", a.cacheControl)
	c.Header("Vary", "Accept-Encoding")
	c.Header("X-Content-Type-Options", "nosniff")
	if matches(string(c.GetHeader("If-None-Match")), a.etag) {
		c.Status(http.StatusNotModified)
		return
	}
	if strings.Contains(string(c.GetHeader("Accept-Encoding")), "gzip") {
		c.Header("Content-Encoding", "gzip")
		c.Data(http.StatusOK, a.contentType, a.gzipped)
		return
	}
	c.Data(http.StatusOK, a.contentType, a.body)
}

// widgetRoutes serves the widget a site embeds with one script tag,
// GET /widget.js, and a demo page that embeds it, GET /. The script's URL
// is not versioned, so it is cached for five minutes and then revalidated
// with its entity tag; sites on other origins may load it (CORP).
func widgetRoutes(r *route.RouterGroup) {
	js := loadWidgetAsset("widget.js", "application/javascript; charset=utf-8", "public, max-age=300")
	page := loadWidgetAsset("index.html", "text/html; charset=utf-8", "no-cache")
	r.GET("/widget.js", func(ctx context.Context, c *app.RequestContext) {
		c.Header("Cross-Origin-Resource-Policy", "cross-origin")
		js.serve(ctx, c)
	})
	r.GET("/", page.serve)
}
