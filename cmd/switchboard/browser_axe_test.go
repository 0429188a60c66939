package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core that `make deps` installs from the npm
// registry into .cache/axe-core (git-ignored): the rules WCAG 2.2 AA is
// checked by.
const axeVersion = "4.14.1"

// axeScript reads axe-core's script; without it the test is skipped,
// except in CI, where `make deps` should have installed it.
func axeScript(t *testing.T) string {
	t.Helper()
	path, _ := filepath.Abs(filepath.Join("..", "..", ".cache", "axe-core", "node_modules", "axe-core", "axe.min.js"))
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core %s is missing (make deps installs it): %v", axeVersion, err)
		}
		t.Skipf("axe-core not installed (make deps): %v", err)
	}
	return string(b)
}

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkAxe runs axe-core's WCAG 2.0–2.2 A and AA rules on the part of the
// page that selector names and fails the test on every serious or critical
// violation.
func checkAxe(t *testing.T, ctx context.Context, script, what, selector string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === 'object' || (eval(`+jsQuote(script)+`), true)`)); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document.querySelector(`+jsQuote(selector)+`),
		{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
		.then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	var violations []axeViolation
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	for _, v := range violations {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, n.HTML)
		}
		t.Errorf("%s: %s (%s): %s\n  %s", what, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The widget in its states (a team closed, one available and chosen, the
// call-back form open) and the agent console pass axe-core's WCAG 2.2 AA
// rules with no serious or critical violation.
func TestBrowser_WidgetAndConsolePassAxe(t *testing.T) {
	chromium := chromiumPath(t)
	script := axeScript(t)
	p := startSwitchboard(t, t.TempDir(), "acd.publish_interval=1s", "acd.min_publish_gap=50ms",
		"web.refresh_interval=300ms")
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	openWidget(t, ctx, base+"/")
	wait("billing closed", rowShows("billing", "Billing", "Closed"))
	checkAxe(t, ctx, script, "widget, every team closed", "#switchboard-widget")
	snap(t, ctx, "widget-closed", "#switchboard-widget")

	aliceAvailable(t, p)
	wait("billing available", rowShows("billing", "Billing", "Available now"))
	clickWidget(t, ctx, `label[for="sbw-g-billing"]`)
	wait("billing chosen", `sbw('sbw-g-billing').checked`)
	checkAxe(t, ctx, script, "widget, a team available and chosen", "#switchboard-widget")
	snap(t, ctx, "widget-available", "#switchboard-widget")
	checkAxe(t, ctx, script, "the demo support page", "body")
	snap(t, ctx, "demo-page", "body")

	clickWidget(t, ctx, `button[data-action="callback"]`)
	wait("the call-back form", `document.getElementById('switchboard-widget').dataset.callbackState === 'form'`)
	checkAxe(t, ctx, script, "widget, call-back form", "#switchboard-widget")
	snap(t, ctx, "widget-callback-form", "#switchboard-widget")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console")); err != nil {
		t.Fatal(err)
	}
	wait("the console's sign-in", `!!document.getElementById('sbc-token')`)
	checkAxe(t, ctx, script, "console, sign-in", "body")
	snap(t, ctx, "console-sign-in", "body")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#sbc-token`), "alice-demo-token-change-me")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbc-login button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the console signed in", `!!document.getElementById('sbc-callbacks') && document.getElementById('sbc-login').hidden`)
	checkAxe(t, ctx, script, "console, signed in", "body")
	snap(t, ctx, "console", "body")

	// Away for lunch: the reason chosen in the console's list goes with
	// the Away button and shows beside the state.
	wait("the away reasons listed", `(s => !!s && [...s.options].some(o => o.value === 'lunch'))(
		document.getElementById('sbc-away-reason'))`)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'lunch';
		s.dispatchEvent(new Event('change')); })(document.getElementById('sbc-away-reason'))`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbc-agent button[data-action="away"]`))); err != nil {
		t.Fatal(err)
	}
	wait("away for lunch", `document.querySelector('#sbc-agent .sbc-state').textContent === 'away · Lunch'`)
	checkAxe(t, ctx, script, "console, away for lunch", "body")
}
