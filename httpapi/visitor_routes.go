package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/route"
)

// route is the routing decision a visitor's context leads to, as shown to
// the widget and applied to its calls: the chosen group, the agent it
// spoke with last (tried first), and its language.
type routeView struct {
	Group          string `json:"group"`
	PreferredAgent string `json:"preferred_agent"`
	Language       string `json:"language,omitempty"`
}

func routeOf(v Visitor) routeView {
	return routeView{Group: v.Group, PreferredAgent: v.LastAgent, Language: v.Language}
}

// contextRequest is the body of POST /v1/context; absent fields keep
// their value.
type contextRequest struct {
	Group         *string `json:"group"`
	Language      *string `json:"language"`
	Page          *string `json:"page"`
	CustomerToken *string `json:"customer_token"`
}

// visitorRoutes serves GET and POST /v1/context. POST is the visitor's
// interaction with the widget, so it sets the signed cookie; GET sets one
// only with web.cookies_before_consent. A tampered or expired cookie is
// ignored as if absent, never an error.
func visitorRoutes(r *route.RouterGroup, snaps *Snapshots, web WebConfig, codec visitorCodec) {
	current := func(c *app.RequestContext) (Visitor, bool) {
		v, err := codec.decode(string(c.Cookie(cookieName)), time.Now())
		return v, err == nil
	}
	answer := func(c *app.RequestContext, v Visitor, set bool) {
		if set {
			codec.set(c, v)
		}
		if cors(c, web.AllowedOrigins) {
			c.Header("Access-Control-Allow-Credentials", "true")
		}
		c.Header("Cache-Control", "no-store")
		if v.Pages == nil {
			v.Pages = []string{} // always a list for clients
		}
		v.ID = "" // the cookie's business, not the page's
		c.JSON(http.StatusOK, map[string]any{"context": v, "route": routeOf(v)})
	}
	r.GET("/v1/context", func(_ context.Context, c *app.RequestContext) {
		v, ok := current(c)
		answer(c, v, !ok && web.CookiesBeforeConsent)
	})
	// A site on another origin of the same site (www.example.com using
	// support.example.com) sends the cookie with credentials; across sites
	// a SameSite=Lax cookie is not sent at all.
	r.OPTIONS("/v1/context", func(_ context.Context, c *app.RequestContext) {
		if cors(c, web.AllowedOrigins) {
			c.Header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			c.Header("Access-Control-Allow-Headers", "Content-Type")
			c.Header("Access-Control-Allow-Credentials", "true")
			c.Header("Access-Control-Max-Age", "600")
		}
		c.Status(http.StatusNoContent)
	})
	r.POST("/v1/context", func(_ context.Context, c *app.RequestContext) {
		var req contextRequest
		if !readJSON(c, &req) {
			return
		}
		v, _ := current(c)
		if code, msg := apply(&v, req, snaps, web); code != "" {
			writeError(c, http.StatusBadRequest, code, msg)
			return
		}
		answer(c, v, true)
	})
}

// apply merges a request into v, or returns an error code and message.
func apply(v *Visitor, req contextRequest, snaps *Snapshots, web WebConfig) (string, string) {
	if req.Group != nil {
		if *req.Group != "" && snaps.cur.Load().groups[*req.Group] == nil {
			return "unknown_group", "no group " + *req.Group
		}
		v.Group = *req.Group
	}
	if req.Language != nil {
		if !validLanguage(*req.Language) {
			return "bad_language", "language must be a tag such as en or fr-CA"
		}
		v.Language = *req.Language
	}
	if req.Page != nil && *req.Page != "" {
		page := *req.Page
		if len(page) > maxPageLen {
			page = page[:maxPageLen]
		}
		v.Pages = append(v.Pages, page)
		if len(v.Pages) > maxPages {
			v.Pages = v.Pages[len(v.Pages)-maxPages:]
		}
	}
	if req.CustomerToken != nil {
		id, tier, ok := customerFromToken(*req.CustomerToken, []byte(web.CustomerTokenKey))
		if !ok {
			return "bad_customer_token", "customer_token is not signed by this site"
		}
		v.Customer, v.Tier = id, tier
	}
	for len(v.Pages) > 0 && len(mustJSON(v)) > cookieBytes { // keep the cookie small
		v.Pages = v.Pages[1:]
	}
	return "", ""
}

func validLanguage(s string) bool {
	if s == "" {
		return true
	}
	return len(s) <= maxLangLen && strings.IndexFunc(s, func(r rune) bool {
		return r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) || r > unicode.MaxASCII
	}) < 0
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
