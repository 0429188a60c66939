package main

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/calltest"
)

// A network change mid-call, in headless Chromium talking with a SIP
// agent who hears its 1 kHz tone: the call's first path goes through a
// UDP relay of the test (the page's offer reaches switchboard without its
// candidates, and the answer shows the relay's address instead of
// switchboard's, so each side knows the other only through the relay).
// The test cuts the relay: Chromium's ICE really loses its path and goes
// disconnected; the widget shows "Reconnecting…", keeps the call talking,
// restarts ICE over HTTP, and the new path (direct, as after a move from
// Wi-Fi to 4G) carries the tone to the agent again, and the widget says
// it talks again.
func TestBrowser_ReconnectsAfterTheNetworkChanged(t *testing.T) {
	chromium := chromiumPath(t)
	p := startCallServer(t)
	r := calltest.NewRelay(t)
	ctx, pageLog, wait, call := talkingWithToneAfter(t, chromium, p, func(ctx context.Context) { firstPathThrough(t, ctx, r) })
	if r.Packets.Load() == 0 {
		t.Fatal("the call's first path does not go through the relay")
	}
	const host = `document.getElementById('switchboard-widget')`
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.switchboardCall.id`))
	if err != nil {
		t.Fatal(err)
	}
	// What the widget shows at each change of data-connection.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.connections = [];
		new MutationObserver(() => window.connections.push([`+host+`.dataset.connection, `+host+`.dataset.callState,
			sbwq('.sbw-l').textContent].join('|'))).observe(`+host+`, {attributeFilter: ['data-connection']})`)); err != nil {
		t.Fatal(err)
	}
	wait("connected", host+`.dataset.connection === 'connected'`)

	r.Cut.Store(true) // the old network is gone
	wait("Reconnecting… shown, the call still talking", `window.connections.includes('reconnecting|talking|Reconnecting…')`)
	wait("connected again, talking with Alice", host+`.dataset.connection === 'connected' &&
		`+host+`.dataset.callState === 'talking' && sbwq('.sbw-l').textContent === 'Talking with Alice.'`)
	from := call.RTPReceived()
	calltest.Eventually(t, "the tone at the agent again, over the new path", func() bool {
		return call.RTPReceived() > from+25 && call.Level() > -30
	})
	if n := scrapeMetrics(t, p)["switchboard_ice_restarts_total"]; n < 1 {
		t.Errorf("switchboard_ice_restarts_total %v, want at least 1", n)
	}
	if again, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.switchboardCall.id`)); err != nil || again != id {
		t.Errorf("the call is %q after reconnecting, was %q (%v)", again, id, err)
	}
	if exceptions := pageLog(chromedp.ConsoleException); exceptions != "" {
		t.Errorf("the page threw:\n%s", exceptions)
	}
}

var (
	// anyCandidate is a whole candidate line of an SDP.
	anyCandidate = regexp.MustCompile(`a=candidate:[^\r\n]*\r?\n`)
	// loopbackRTP is switchboard's loopback host candidate of component 1.
	loopbackRTP = regexp.MustCompile(`(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)( typ host)`)
)

// firstPathThrough has the page's first call go through r, intercepting
// POST /v1/calls (only: ICE restarts go their own way): the offer loses
// its candidates (switchboard learns Chromium's address from the relay's
// packets alone), and the answer shows the relay instead of switchboard.
func firstPathThrough(t *testing.T, ctx context.Context, r *calltest.Relay) {
	t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/v1/calls", RequestStage: fetch.RequestStageRequest},
		{URLPattern: "*/v1/calls", RequestStage: fetch.RequestStageResponse}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.ResponseStatusCode == 0 { // the request: the offer
				var body []byte
				if ev.Request != nil {
					for _, e := range ev.Request.PostDataEntries {
						body = append(body, e.Bytes...)
					}
				}
				chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID,
					PostData: editSDP(body, func(sdp string) string { return anyCandidate.ReplaceAllString(sdp, "") })})
				continue
			}
			res, err := chromedp.Call(ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
			if err != nil {
				continue
			}
			var headers []*fetch.HeaderEntry
			for _, h := range ev.ResponseHeaders {
				if n := strings.ToLower(h.Name); n != "content-length" && n != "content-encoding" {
					headers = append(headers, h)
				}
			}
			chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID,
				ResponseCode: ev.ResponseStatusCode, ResponseHeaders: headers,
				Body: editSDP(res.Body, func(sdp string) string { return relayThrough(r, sdp) })})
		}
	}()
}

// relayThrough shows r's address instead of switchboard's candidate in
// sdp, remembering the real one, and leaves out every other candidate.
func relayThrough(r *calltest.Relay, sdp string) string {
	mine := strconv.Itoa(r.ToBrowser.LocalAddr().(*net.UDPAddr).Port)
	return anyCandidate.ReplaceAllStringFunc(sdp, func(line string) string {
		m := loopbackRTP.FindStringSubmatch(line)
		if m == nil {
			return ""
		}
		port, _ := strconv.Atoi(m[2])
		r.Server.Store(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		return loopbackRTP.ReplaceAllString(line, "${1}"+mine+"${3}")
	})
}

// editSDP changes the "sdp" member of a JSON body with edit, keeping the
// rest; a body it cannot read is left as it is.
func editSDP(body []byte, edit func(string) string) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	sdp, ok := m["sdp"].(string)
	if !ok {
		return body
	}
	m["sdp"] = edit(sdp)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}
