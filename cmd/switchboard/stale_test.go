package main

import (
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// holdFirstPoll wraps the page's fetch so that the answer to the first
// GET /v1/availability, fetched at once, reaches the widget only when the
// test calls window.releasePoll(); window.stalePollDrawn turns true once
// the widget has read it and done whatever it does with it.
const holdFirstPoll = `(() => {
  const real = window.fetch;
  let held = false;
  window.stalePollDrawn = false;
  window.fetch = function (url) {
    const answer = real.apply(this, arguments);
    if (held || !/\/v1\/availability$/.test(String(url))) return answer;
    held = true;
    return answer.then(r => r.text().then(body => new Promise(ok => {
      window.releasePoll = () => {
        const res = new Response(body, { status: r.status, headers: r.headers });
        const json = res.json.bind(res);
        res.json = () => json().then(j => { setTimeout(() => { window.stalePollDrawn = true; }, 0); return j; });
        ok(res);
      };
    })));
  };
})();`

// The race a visitor arriving while an agent signs in meets: the widget's
// first poll is answered with the old availability (billing closed) but
// arrives after the event stream has drawn the new one (billing open).
// The widget orders what it draws by snapshot id and keeps the newer:
// before, it drew "Closed" over "Available now" and, its polling stopped
// by the stream, stayed so.
func TestBrowser_WidgetNeverDrawsAnOlderSnapshot(t *testing.T) {
	chromium := chromiumPath(t)
	p := startSwitchboard(t, t.TempDir(), "acd.publish_interval=1s", "acd.min_publish_gap=50ms",
		"web.refresh_interval=300ms")
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: holdFirstPoll}); err != nil {
		t.Fatal(err)
	}
	openWidget(t, ctx, base+"/")
	wait("the first poll held", `typeof window.releasePoll === 'function'`)
	wait("billing closed, from the stream", rowShows("billing", "Billing", "Closed"))

	aliceAvailable(t, p)
	wait("billing available, from the stream", rowShows("billing", "Billing", "Available now"))

	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.releasePoll()`)); err != nil {
		t.Fatal(err)
	}
	wait("the stale poll read", `window.stalePollDrawn`)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](rowShows("billing", "Billing", "Available now")+
		` && !`+button("Talk now")+`.disabled`))
	if err != nil || !shown {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`sbw('sbw-panel').innerText`))
		t.Fatalf("after the older poll answer the widget shows (%v):\n%s", err, text)
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}
