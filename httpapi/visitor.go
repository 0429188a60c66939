package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/protocol"
)

// Visitor is the context a site and the widget gather about a visitor,
// carried in the signed cookie sb_ctx and used for routing.
type Visitor struct {
	// ID tells visitors apart (random, given with the first cookie): the
	// per-visitor limits count by it, whatever else the context holds.
	ID string `json:"vid,omitempty"`
	// Customer is the site's customer id, and Tier its service tier
	// (acd.tiers gives it a routing priority), only from a token the site
	// signed.
	Customer string `json:"customer,omitempty"`
	Tier     string `json:"tier,omitempty"`
	Language string `json:"language,omitempty"`
	// Group is the skill group the visitor chose.
	Group string `json:"group,omitempty"`
	// LastAgent is the agent the visitor last spoke with: tried first.
	LastAgent string `json:"last_agent,omitempty"`
	// Pages seen, the newest last, at most maxPages.
	Pages []string `json:"pages"`
	// Expires is when the cookie stops being honoured (Unix seconds).
	Expires int64 `json:"exp"`
}

const (
	cookieName  = "sb_ctx"
	maxPages    = 10
	maxPageLen  = 200
	maxLangLen  = 16
	cookieBytes = 3000 // well under the 4096 browsers keep
)

// visitorCodec signs and checks visitor cookies: base64url(JSON) "."
// base64url(HMAC-SHA256(key, JSON)).
type visitorCodec struct {
	key    []byte
	maxAge time.Duration
	domain string // the cookie's Domain, "" for host-only
	secure bool   // over HTTPS
}

// visitor reads the visitor's context from the request's cookie (empty
// when absent or not valid) and the group the request names, the
// cookie's when it names none.
func (vc visitorCodec) visitor(c *app.RequestContext, group string) (Visitor, string) {
	v, _ := vc.decode(string(c.Cookie(cookieName)), time.Now())
	if group == "" {
		group = v.Group
	}
	return v, group
}

// set puts v in the visitor's cookie: HttpOnly, SameSite=Lax, Secure
// over HTTPS.
func (vc visitorCodec) set(c *app.RequestContext, v Visitor) {
	if v.ID == "" {
		v.ID = rand.Text()[:16]
	}
	c.SetCookie(cookieName, vc.encode(v, time.Now()), int(vc.maxAge.Seconds()), "/", vc.domain,
		protocol.CookieSameSiteLaxMode, vc.secure, true)
}

var errBadCookie = errors.New("cookie not valid")

func (vc visitorCodec) encode(v Visitor, now time.Time) string {
	v.Expires = now.Add(vc.maxAge).Unix()
	payload, _ := json.Marshal(v) // a struct of strings cannot fail
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(vc.mac(payload))
}

// decode returns the visitor of a cookie value, or errBadCookie for one
// that is tampered with, malformed or expired: such a cookie is ignored.
func (vc visitorCodec) decode(value string, now time.Time) (Visitor, error) {
	p, m, ok := strings.Cut(value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, vc.mac(payload)) {
		return Visitor{}, errBadCookie
	}
	var v Visitor
	if err := json.Unmarshal(payload, &v); err != nil || now.Unix() >= v.Expires {
		return Visitor{}, errBadCookie
	}
	return v, nil
}

func (vc visitorCodec) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, vc.key)
	h.Write([]byte("sb_ctx:v1:"))
	h.Write(payload)
	return h.Sum(nil)
}

// customerFromToken checks a site's customer token, "<id>.<hex
// HMAC-SHA256(key, id)>" or, with a service tier, "<id>.<tier>.<hex
// HMAC-SHA256(key, id.tier)>", and returns the id and the tier.
func customerFromToken(token string, key []byte) (id, tier string, ok bool) {
	signed, sig, found := strings.Cut(token, ".")
	if rest, last, more := strings.Cut(sig, "."); more { // id.tier.sig
		signed, sig = signed+"."+rest, last
	}
	want := hmac.New(sha256.New, key)
	want.Write([]byte(signed))
	got, err := hex.DecodeString(sig)
	if !found || len(key) == 0 || err != nil || !hmac.Equal(got, want.Sum(nil)) {
		return "", "", false
	}
	id, tier, _ = strings.Cut(signed, ".")
	return id, tier, id != "" && len(tier) <= maxLangLen
}
