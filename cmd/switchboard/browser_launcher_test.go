package main

import (
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// hostileSiteCSS is a site's stylesheet that would break a widget drawn
// in the page's own DOM: every button red and huge, every [hidden]
// element shown, the text of the body red serif.
const hostileSiteCSS = `document.addEventListener('DOMContentLoaded', () => {
  const s = document.createElement('style');
  s.textContent = 'button { background: #f00 !important; font-size: 40px !important; } ' +
    '[hidden] { display: block !important; } body { color: #f00; font-family: serif; line-height: 3; }';
  document.head.appendChild(s);
});`

// The launcher, by keyboard only: Tab reaches it, Enter opens the panel
// and moves the focus into it, Escape closes it and gives the focus back,
// Space opens it again, and the site's next page opens it as it was left.
// The site's CSS, however hostile, changes neither the launcher nor the
// panel (the widget draws in a shadow root), and axe-core finds no serious
// violation in the closed launcher.
func TestBrowser_LauncherOpensAndClosesByKeyboard(t *testing.T) {
	chromium := chromiumPath(t)
	p := startSwitchboard(t, t.TempDir())
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: hostileSiteCSS}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	const (
		host     = `document.getElementById('switchboard-widget')`
		launcher = `sbw('sbw-launch')`
		focused  = host + `.shadowRoot.activeElement`
	)
	wait("the launcher, closed", launcher+` && `+host+`.dataset.open === 'false' &&
		`+launcher+`.getAttribute('aria-expanded') === 'false' && !sbw('sbw-panel').offsetParent`)
	wait("the site's CSS kept out", `(s => s.backgroundColor === 'rgb(11, 87, 208)' && s.fontSize === '15px')(
		getComputedStyle(`+launcher+`)) && getComputedStyle(`+host+`).position === 'fixed'`)
	checkAxe(t, ctx, axeScript(t), "widget, launcher closed", "#switchboard-widget")
	snap(t, ctx, "launcher-closed", "#switchboard-widget")

	key := func(k string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.KeyEvent(k)); err != nil {
			t.Fatal(err)
		}
	}
	atLauncher := func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement === `+host+` && `+focused+` === `+launcher))
		return err == nil && ok
	}
	for range 40 { // the page's links and summaries first, then the launcher
		if atLauncher() {
			break
		}
		key(kb.Tab)
	}
	if !atLauncher() {
		t.Fatal("40 presses of Tab never reached the launcher")
	}

	key(kb.Enter)
	wait("Enter opens the panel, the focus in it", host+`.dataset.open === 'true' &&
		`+launcher+`.getAttribute('aria-expanded') === 'true' && !!sbw('sbw-panel').offsetParent &&
		sbw('sbw-panel').contains(`+focused+`)`)
	wait("the panel's [hidden] parts still hidden", `!sbw('sbw-cb-form').offsetParent && !sbw('sbw-call').offsetParent`)
	snap(t, ctx, "launcher-open", "#switchboard-widget")
	key(kb.Escape)
	wait("Escape closes it, the focus back on the launcher", host+`.dataset.open === 'false' &&
		!sbw('sbw-panel').offsetParent && `+focused+` === `+launcher)
	key(" ")
	wait("Space opens it again", host+`.dataset.open === 'true' && sbw('sbw-panel').contains(`+focused+`)`)

	// The site's next page: open as it was left.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?page=2")); err != nil {
		t.Fatal(err)
	}
	wait("open on the next page", host+` && `+host+`.dataset.open === 'true' && !!sbw('sbw-panel').offsetParent`)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}
