package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// Waits are written in the plural form each language's rules pick
// (Intl.PluralRules): "about 1 minute" and "about 3 minutes", "environ 1
// minute" and "environ 3 minutes". The availability is the server's own
// answer with both teams made busy, one with a wait of a minute, one of
// two and a half.
func TestBrowser_WaitsInEachLanguagesPluralForms(t *testing.T) {
	chromium := chromiumPath(t)
	p := startSwitchboard(t, t.TempDir())
	base := "http://" + p.HTTP
	res, err := http.Get(base + "/v1/availability")
	if err != nil {
		t.Fatal(err)
	}
	var avail map[string]any
	if err := json.NewDecoder(res.Body).Decode(&avail); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, g := range avail["groups"].([]any) {
		g := g.(map[string]any)
		g["status"], g["ewt_seconds"] = "busy", map[string]float64{"billing": 60, "support": 150}[g["id"].(string)]
	}
	busy, _ := json.Marshal(avail)
	res, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()

	for _, tc := range []struct{ lang, one, other string }{
		{"en", "Approximate wait: about 1 minute", "Approximate wait: about 3 minutes"},
		{"fr", "Attente estimée : environ 1 minute", "Attente estimée : environ 3 minutes"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			ctx, pageLog := newBrowser(t, chromium)
			wait := waiter(t, ctx, p, pageLog)
			served := strings.Replace(string(page), `<html lang="en">`, `<html lang="`+tc.lang+`">`, 1)
			paused := chromedp.Events(ctx, fetch.RequestPaused)
			if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
				{URLPattern: base + "/"}, {URLPattern: base + "/v1/availability"}, {URLPattern: base + "/v1/availability/stream*"}}}); err != nil {
				t.Fatal(err)
			}
			go func() {
				for ev, err := range paused {
					if err != nil {
						return
					}
					code, body, ct := 200, busy, "application/json"
					switch {
					case strings.Contains(ev.Request.URL, "/stream"): // polling alone
						code, body, ct = 404, []byte("404 page not found"), "text/plain"
					case !strings.Contains(ev.Request.URL, "/v1/"):
						body, ct = []byte(served), "text/html; charset=utf-8"
					}
					chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID,
						ResponseCode: int64(code), Body: body, ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: ct}}})
				}
			}()
			openWidget(t, ctx, base+"/")
			wait("one minute", `(w => !!w && w.textContent === `+jsQuote(tc.one)+`)(sbwq('[data-group=billing] .sbw-w'))`)
			wait("three minutes", `(w => !!w && w.textContent === `+jsQuote(tc.other)+`)(sbwq('[data-group=support] .sbw-w'))`)
		})
	}
}
