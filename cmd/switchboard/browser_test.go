package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
)

// The widget in a real browser (Debian's chromium, headless), on the demo
// page of a switchboard running every role: it shows a group closed, then
// available once an agent's phone PUBLISHes open, and choosing a group sets
// the visitor's context cookie. It runs once with the event stream and once
// with the stream answering 404, when the widget must poll.
func TestBrowser_WidgetFollowsAgentPresence(t *testing.T) {
	for _, tc := range []struct {
		name        string
		blockStream bool
	}{{"stream", false}, {"polling", true}} {
		t.Run(tc.name, func(t *testing.T) { testWidget(t, tc.blockStream) })
	}
}

func testWidget(t *testing.T, blockStream bool) {
	chromium := chromiumPath(t)
	p := startSwitchboard(t, t.TempDir(), "acd.publish_interval=1s", "acd.min_publish_gap=50ms",
		"web.refresh_interval=300ms")
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)

	// What the page fetched, to tell the stream from polling.
	var mu sync.Mutex
	statuses := map[string][]int64{} // path → response statuses
	responses := chromedp.Events(ctx, network.ResponseReceived)
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			path := strings.TrimPrefix(ev.Response.URL, base)
			mu.Lock()
			statuses[path] = append(statuses[path], ev.Response.Status)
			mu.Unlock()
		}
	}()
	if blockStream {
		// The stream answers 404, as on a server without it: polling alone
		// must keep the widget current.
		paused := chromedp.Events(ctx, fetch.RequestPaused)
		if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
			Patterns: []*fetch.RequestPattern{{URLPattern: "*/v1/availability/stream*"}}}); err != nil {
			t.Fatal(err)
		}
		go func() {
			for ev, err := range paused {
				if err != nil {
					return
				}
				chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID,
					ResponseCode: 404, Body: []byte("404 page not found"),
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/plain"}}})
			}
		}()
	}

	wait := waiter(t, ctx, p, pageLog)
	click := func(selector string) { t.Helper(); clickWidget(t, ctx, selector) }

	openWidget(t, ctx, base+"/")
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title != "Help centre · Example Telecom" {
		t.Fatalf("title %q, %v", title, err)
	}
	// Record the widget's events for the Talk now check below.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.talked = [];
		document.addEventListener('switchboard:talk', e => window.talked.push(e.detail.group))`)); err != nil {
		t.Fatal(err)
	}
	wait("billing closed", rowShows("billing", "Billing", "Closed"))
	click(`label[for="sbw-g-billing"]`)
	wait("billing chosen, Talk now disabled", `sbw('sbw-g-billing').checked &&
		`+button("Talk now")+`.disabled && !`+button("Call me back")+`.disabled`)

	// An agent of billing (and support) signs in and is available.
	aliceAvailable(t, p)
	wait("billing available, Talk now enabled", rowShows("billing", "Billing", "Available now")+
		` && !`+button("Talk now")+`.disabled`)
	if !blockStream {
		snapPage(t, ctx, "demo-page") // the README's picture
	}

	// Talk now in a browser without a microphone: it fires its event, and
	// the call-back form opens instead.
	click(`button[data-action="talk"]`)
	wait("Talk now falls back to the call-back form", `window.talked.join() === 'billing' &&
		document.getElementById('switchboard-widget').dataset.callbackState === 'form' &&
		(f => !!f && !f.hidden && !!f.offsetParent)(sbw('sbw-cb-form'))`)

	// The visitor chooses Technical support: the context cookie follows.
	wait("support listed", rowShows("support", "Technical support", "Available now"))
	click(`label[for="sbw-g-support"]`)
	wait("support saved", `sbw('sbw-g-support').checked &&
		document.getElementById('switchboard-widget').dataset.saved === 'support'`)
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var ctxCookie *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "sb_ctx" {
			ctxCookie = c
		}
	}
	if ctxCookie == nil {
		t.Fatalf("no sb_ctx cookie in the browser: %+v", cookies.Cookies)
	}
	if !ctxCookie.HTTPOnly || ctxCookie.SameSite != network.CookieSameSiteLax {
		t.Errorf("sb_ctx: HttpOnly %v, SameSite %q; want HttpOnly, Lax", ctxCookie.HTTPOnly, ctxCookie.SameSite)
	}
	req, _ := http.NewRequest("GET", base+"/v1/context", nil)
	req.Header.Set("Cookie", "sb_ctx="+ctxCookie.Value)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var answer struct {
		Route struct {
			Group string `json:"group"`
		} `json:"route"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /v1/context: %d, %v", res.StatusCode, err)
	}
	if answer.Route.Group != "support" {
		t.Errorf("GET /v1/context routes to %q, want support", answer.Route.Group)
	}
	// On the next page the widget starts from the visitor's choice.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	wait("the launcher open as it was left", `document.getElementById('switchboard-widget').dataset.open === 'true'`)
	wait("support pre-selected from the cookie", rowShows("support", "Technical support", "Available now")+
		` && sbw('sbw-g-support').checked && !`+button("Talk now")+`.disabled`)

	mu.Lock()
	stream, polls := statuses["/v1/availability/stream"], len(statuses["/v1/availability"])
	mu.Unlock()
	switch {
	case len(stream) == 0:
		t.Errorf("the widget never opened the event stream")
	case blockStream && polls < 2:
		t.Errorf("stream %v, and %d polls: the widget did not poll", stream, polls)
	case !blockStream && stream[0] != 200:
		t.Errorf("the event stream answered %v", stream)
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// waiter returns a function that waits (20 s at most) until the page's
// predicate holds, failing the test with what the widget shows, the
// page's console and switchboard's log otherwise.
func waiter(t *testing.T, ctx context.Context, p *proc, pageLog func(...chromedp.ConsoleType) string) func(what, predicate string) {
	return func(what, predicate string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(sbw('sbw-panel') || document.body).innerText`))
			t.Fatalf("waiting for %s: %v\nthe widget shows:\n%s\npage console:\n%s\nswitchboard log:\n%s",
				what, err, text, pageLog(), p.logs())
		}
	}
}

// talkNow opens the demo page, chooses group once an agent serves it and
// clicks Talk now.
func talkNow(t *testing.T, ctx context.Context, p *proc, wait func(what, predicate string), group string) {
	t.Helper()
	openWidget(t, ctx, "http://"+p.HTTP+"/")
	wait(group+" available", fmt.Sprintf(`(r => !!r && r.innerText.includes('Available now'))(
		sbwq('[data-group=%q]'))`, group))
	clickWidget(t, ctx, `label[for="sbw-g-`+group+`"]`)
	wait("Talk now enabled", `!`+button("Talk now")+`.disabled`)
	clickWidget(t, ctx, `button[data-action="talk"]`)
}

// widgetHelpers gives every page of the tests sbw(id), sbwq(selector) and
// sbwqa(selector): the widget's elements, inside its shadow root.
const widgetHelpers = `(() => {
  const root = () => { const h = document.getElementById('switchboard-widget'); return h && h.shadowRoot; };
  window.sbw = id => root() ? root().getElementById(id) : null;
  window.sbwq = sel => root() ? root().querySelector(sel) : null;
  window.sbwqa = sel => root() ? [...root().querySelectorAll(sel)] : [];
})();`

// openWidget opens url, a page with the widget's launcher, and opens the
// widget's panel with a click on the launcher, as a visitor does.
func openWidget(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	clickWidget(t, ctx, "#sbw-launch")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('switchboard-widget').dataset.open === 'true'`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the launcher does not open the widget: %v", err)
	}
}

// clickWidget clicks, with the mouse, the centre of the widget's element
// that selector names inside its shadow root, once it is shown.
func clickWidget(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	at, err := chromedp.Run(ctx, chromedp.Poll[[]float64](fmt.Sprintf(`(e => {
		if (!e || !e.offsetParent) return null;
		e.scrollIntoView({block: 'center'});
		const r = e.getBoundingClientRect();
		return r.width && r.height ? [r.x + r.width / 2, r.y + r.height / 2] : null;
	})(sbwq(%q))`, selector), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || len(at) != 2 {
		t.Fatalf("click %s in the widget: %v", selector, err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(at[0], at[1])); err != nil {
		t.Fatalf("click %s in the widget: %v", selector, err)
	}
}

// rowShows is a predicate: the widget's row of group id shows name and
// status as text.
func rowShows(id, name, status string) string {
	return fmt.Sprintf(`(r => !!r && r.innerText.includes(%q) && r.innerText.includes(%q))(
		sbwq('[data-group=%q]'))`, name, status, id)
}

// button is an expression for the widget's button labelled text.
func button(text string) string {
	return fmt.Sprintf(`sbwqa('button').find(b => b.textContent === %q)`, text)
}

// chromiumPath finds Debian's chromium; without it the test is skipped,
// except in CI, where `make deps` should have installed it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing: `make deps` installs it")
	}
	t.Skip("chromium is missing: `make deps` installs it")
	return ""
}

// newBrowser starts a headless chromium with a fresh profile, for the test
// only, and returns its tab (bounded to a minute) and a func that returns
// the page's console messages of the given types (all when none).
func newBrowser(t *testing.T, path string, extra ...chromedp.ExecAllocatorOption) (context.Context, func(...chromedp.ConsoleType) string) {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 768),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)...)
	var mu sync.Mutex
	var messages []chromedp.ConsoleMessage
	quiet := false
	browserErr := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !quiet {
			t.Logf("chromedp: "+format, args...)
		}
	}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(browserErr))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for chromium to exit, before its profile is removed
		mu.Lock()
		quiet = true
		mu.Unlock()
	})
	if err := chromedp.Do(tabCtx); err != nil { // starts the browser, bound to tabCtx
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(tabCtx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: widgetHelpers}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, time.Minute)
	t.Cleanup(cancel)
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()
	return ctx, func(types ...chromedp.ConsoleType) string {
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		for _, m := range messages {
			if len(types) == 0 || slices.Contains(types, m.Type) {
				fmt.Fprintf(&b, "%s:%d %s\n", m.URL, m.Line+1, m)
			}
		}
		return b.String()
	}
}

// snap saves what selector shows as name.png in $SCREENSHOTS_DIR
// (make screenshots), and does nothing when it is not set: the browser
// tests double as the screenshots of the widget's states and the console.
func snap(t *testing.T, ctx context.Context, name, selector string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(selector)))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapPage saves what the browser's window shows as name.png in
// $SCREENSHOTS_DIR, like snap.
func snapPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// typeInto sets an input's value as typing would leave it and fires its
// input event. chromedp's SendKeys reads the node's attributes while its
// event loop may be rewriting them (a data race inside chromedp 0.23 that
// -race reports): the call-back phone field changes its placeholder and
// aria-invalid as it is checked.
func typeInto(t *testing.T, ctx context.Context, id, text string) {
	t.Helper()
	js := fmt.Sprintf(`(i => (i.value = %q, i.dispatchEvent(new Event('input', {bubbles: true})), true))(sbw(%q))`, text, id)
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
		t.Fatalf("type into #%s: %v", id, err)
	}
}

// aliceAvailable has alice, an agent of billing and support, register a
// phone and publish it open, as her desk phone would.
func aliceAvailable(t *testing.T, p *proc) {
	t.Helper()
	alice := siptest.NewPeer(t)
	reg := alice.Request("REGISTER", "sip:example.com", "alice", p.UDP, "", "Expires: 600")
	reg.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	if res := alice.DoAuth(reg, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	const aor = "sip:alice@example.com"
	pub := alice.Request("PUBLISH", aor, "alice", p.UDP, siptest.PIDF(aor, "phone", "open", ""),
		"Event: presence", "Content-Type: application/pidf+xml")
	if res := alice.DoAuth(pub, "alice", "alice-secret"); res.StatusCode != 200 {
		t.Fatalf("PUBLISH: %d", res.StatusCode)
	}
}
