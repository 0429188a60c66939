package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The supervisor view in Chromium: signed in with a supervisor's token,
// it follows the board's event stream: alice appears available once her
// phone registers, then away with the reason once she sets herself away
// in the console API, without a reload; each group shows its queue and
// today's counts. An agent's token is refused by the supervisor API.
func TestBrowser_SupervisorSeesAgentsChangeLive(t *testing.T) {
	chromium := chromiumPath(t)
	p := startSwitchboard(t, t.TempDir())
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/supervisor")); err != nil {
		t.Fatal(err)
	}
	typeToken := `(i => (i.value = 'sam-demo-token-change-me', true))(document.getElementById('sbs-token'))`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](typeToken)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#sbs-login button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	const alice = `document.querySelector('#sbs-agents tr[data-agent="sip:alice@example.com"]')`
	wait("the board, alice offline", alice+` && `+alice+`.innerText.includes('offline') &&
		document.getElementById('sbs-who').textContent === 'Signed in as Sam' &&
		document.querySelector('#sbs-groups tr[data-group="billing"]').innerText.includes('Billing')`)

	aliceAvailable(t, p)
	wait("alice available, live", alice+`.innerText.includes('available')`)
	req, _ := http.NewRequest("PUT", base+"/v1/agents/me/state", strings.NewReader(`{"state":"away","reason":"lunch"}`))
	req.Header.Set("Authorization", "Bearer alice-demo-token-change-me")
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT away: %v %v", res, err)
	}
	wait("alice away for lunch", alice+`.innerText.includes('away') && `+alice+`.innerText.includes('Lunch')`)
	snap(t, ctx, "supervisor", "body")
	checkAxe(t, ctx, axeScript(t), "supervisor view", "body")

	req, _ = http.NewRequest("GET", base+"/v1/supervisor", nil)
	req.Header.Set("Authorization", "Bearer alice-demo-token-change-me")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("an agent's token at /v1/supervisor: %v %v, want 401", res, err)
	}
	if v := pageLog(chromedp.ConsoleException); v != "" {
		t.Errorf("the page threw:\n%s", v)
	}
}
