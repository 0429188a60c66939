package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// A page in French (<html lang="fr">) with a group outside its opening
// hours: the widget says so in French with the next opening from the
// group's acd hours, shows no wait for it, and a group within hours but
// with nobody signed in reads "Fermé", also without a wait. Nothing of
// the server's English shows.
func TestBrowser_FrenchWidgetAfterHoursShowsTheNextOpening(t *testing.T) {
	chromium := chromiumPath(t)
	// Open one hour a day, starting two hours from now (UTC): closed now.
	open := (time.Now().UTC().Hour() + 2) % 24
	if open == 23 { // Close must follow Open within the day
		open = 1
	}
	conf := filepath.Join(t.TempDir(), "groups.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`acd:
  groups:
    - {id: billing, name: Billing, skill: billing, min_proficiency: 1, hours: {time_zone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], open: "%02d:00", close: "%02d:00"}}
    - {id: support, name: Support technique, skill: support, min_proficiency: 1}
`, open, open+1)), 0o644)
	p := startSwitchboard(t, t.TempDir(), "--config="+conf, "web.refresh_interval=300ms")
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	// The visitor's clock reads UTC, as the hours do, whatever this machine's zone.
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "UTC"}); err != nil {
		t.Fatal(err)
	}

	servedInFrench(t, ctx, base)
	openWidget(t, ctx, base+"/")
	wait("billing after hours, in French, with its opening", rowShows("billing", "Billing", "Hors horaires")+
		fmt.Sprintf(` && sbwq('[data-group=billing] .sbw-w').textContent.startsWith('Ouvre ') &&
		sbwq('[data-group=billing] .sbw-w').textContent.includes('%02d')`, open))
	wait("support closed, no wait", rowShows("support", "Support technique", "Fermé")+
		` && sbwq('[data-group=support] .sbw-w').textContent === ''`)
	wait("Talk now in French, disabled", button("Parler maintenant")+`.disabled`)
	snap(t, ctx, "widget-after-hours-fr", "#switchboard-widget")
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sbw('sbw-panel').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, english := range []string{"Closed", "After hours", "Talk now", "wait", "Opens"} {
		if strings.Contains(text, english) {
			t.Errorf("the French widget shows %q:\n%s", english, text)
		}
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

// servedInFrench has the browser get the demo page as a French site would
// serve it: <html lang="fr">, the widget tag unchanged.
func servedInFrench(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	french := strings.Replace(string(page), `<html lang="en">`, `<html lang="fr">`, 1)
	if french == string(page) {
		t.Fatal(`the demo page has no <html lang="en"> to change`)
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: base + "/"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
				Body: []byte(french), ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}}})
		}
	}()
}

// The call-back form in French: a hint with an example number of the
// default region, the number checked as it is typed (libphonenumber on
// the server, as the call-back will read it), consent text, and a
// refusal in the widget's French, not the server's English.
func TestBrowser_FrenchCallbackFormChecksTheNumberAsItIsTyped(t *testing.T) {
	chromium := chromiumPath(t)
	p := startSwitchboard(t, t.TempDir(), "web.refresh_interval=300ms")
	base := "http://" + p.HTTP
	ctx, pageLog := newBrowser(t, chromium)
	wait := waiter(t, ctx, p, pageLog)
	servedInFrench(t, ctx, base)
	openWidget(t, ctx, base+"/")
	wait("billing listed", rowShows("billing", "Billing", "Fermé"))
	clickWidget(t, ctx, `button[data-action="callback"]`)
	const phone, hint = `sbw('sbw-cb-phone')`, `sbw('sbw-cb-hint').textContent`
	wait("the form, its hint and consent", phone+`.placeholder === 'ex. 06 12 34 56 78' &&
		sbw('sbw-cb-consent').textContent.startsWith('Nous appellerons ce numéro une fois')`)
	typeNumber := func(number string) { t.Helper(); typeInto(t, ctx, "sbw-cb-phone", number) }
	typeNumber("12")
	wait("a short number refused as typed", hint+` === 'Ce numéro n’est pas valide.' && `+phone+`.getAttribute('aria-invalid') === 'true'`)
	typeNumber("06 12 34 56 78")
	wait("a mobile number taken as typed", hint+` === 'Nous appellerons le +33612345678.' && `+phone+`.getAttribute('aria-invalid') === 'false'`)
	snap(t, ctx, "widget-callback-form-fr", "#switchboard-widget")
	typeNumber("12")
	wait("refused again", hint+` === 'Ce numéro n’est pas valide.'`)
	clickWidget(t, ctx, `#sbw-cb-send`)
	wait("the server's refusal, in French", `document.getElementById('switchboard-widget').dataset.callbackState === 'error' &&
		sbw('sbw-cb-status').textContent.startsWith('Ce numéro n’est pas valide.')`)
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}
