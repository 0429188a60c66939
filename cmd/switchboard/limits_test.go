package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/calltest"
	"github.com/switchboard/switchboard/internal/siptest"
)

// postCallback POSTs body to /v1/callbacks with extra headers and returns
// the status and the JSON error code and message, if any.
func postCallback(t *testing.T, p *proc, body string, hdrs ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+p.HTTP+"/v1/callbacks", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Set(hdrs[i], hdrs[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e struct{ Error, Message string }
	json.Unmarshal(b, &e)
	return res.StatusCode, e.Error + ": " + e.Message
}

// visitorCookie makes a visitor with the given page through POST
// /v1/context, from an earlier cookie when cookie is not empty, and
// returns the cookie.
func visitorCookie(t *testing.T, p *proc, cookie, page string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+p.HTTP+"/v1/context",
		strings.NewReader(`{"group":"billing","language":"fr","page":"`+page+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", "sb_ctx="+cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "sb_ctx" {
			return c.Value
		}
	}
	t.Fatalf("POST /v1/context set no cookie (%d)", res.StatusCode)
	return ""
}

// The callback limits cannot be dodged: X-Forwarded-For is believed only
// from http.trusted_proxies, one number is called back at most per_number
// times whoever asks, and a visitor keeps its quota across pages while
// another visitor with the same context has its own. Each refusal is a 429
// naming the limit, counted in switchboard_refused_total.
func TestCallback_LimitsCannotBeDodged(t *testing.T) {
	_, port := trunk(t, calltest.Behaviour{Action: calltest.Ring})
	number := func(i int) string { return fmt.Sprintf(`{"group":"billing","phone":"06 12 34 56 %02d"}`, i) }

	t.Run("spoofed X-Forwarded-For", func(t *testing.T) {
		p := startCallServer(t, "trunk.port="+port, "callbacks.per_ip=2", "callbacks.per_number=100")
		agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
		for i := range 3 {
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			code, msg := postCallback(t, p, number(i), "X-Forwarded-For", ip, "X-Real-IP", ip)
			if want := map[bool]int{true: 429, false: 202}[i == 2]; code != want || (i == 2 && !strings.Contains(msg, "callbacks.per_ip")) {
				t.Errorf("request %d from %s: %d %s, want %d", i+1, ip, code, msg, want)
			}
		}
		if v := scrapeMetrics(t, p)[`switchboard_refused_total{limit="callbacks.per_ip"}`]; v != 1 {
			t.Errorf("switchboard_refused_total{limit=callbacks.per_ip} = %v, want 1", v)
		}
	})

	t.Run("trusted proxy", func(t *testing.T) {
		p := startCallServer(t, "trunk.port="+port, "callbacks.per_ip=2", "callbacks.per_number=100",
			"http.trusted_proxies=127.0.0.1")
		agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
		for i := range 3 {
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			if code, msg := postCallback(t, p, number(i), "X-Forwarded-For", ip); code != 202 {
				t.Errorf("request %d for %s through the proxy: %d %s, want 202", i+1, ip, code, msg)
			}
		}
	})

	t.Run("per number and per visitor", func(t *testing.T) {
		p := startCallServer(t, "trunk.port="+port, "callbacks.per_ip=100", "callbacks.per_number=2", "callbacks.per_visitor=2")
		agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
		// One number, written three ways, asked for by three visitors.
		for i, phone := range []string{"06 12 34 56 78", "+33612345678", "0033 6 12 34 56 78"} {
			code, msg := postCallback(t, p, `{"group":"billing","phone":"`+phone+`"}`,
				"Cookie", "sb_ctx="+visitorCookie(t, p, "", "/pricing"))
			if want := map[bool]int{true: 429, false: 202}[i == 2]; code != want || (i == 2 && !strings.Contains(msg, "callbacks.per_number")) {
				t.Errorf("request %d for %s: %d %s, want %d", i+1, phone, code, msg, want)
			}
		}
		// Two visitors with the same context: each has its own quota,
		// kept when the visitor changes page.
		a, b := visitorCookie(t, p, "", "/pricing"), visitorCookie(t, p, "", "/pricing")
		for i := range 2 {
			if code, msg := postCallback(t, p, number(10+i), "Cookie", "sb_ctx="+a); code != 202 {
				t.Fatalf("visitor a, request %d: %d %s", i+1, code, msg)
			}
		}
		a = visitorCookie(t, p, a, "/contact")
		if code, msg := postCallback(t, p, number(20), "Cookie", "sb_ctx="+a); code != 429 || !strings.Contains(msg, "callbacks.per_visitor") {
			t.Errorf("visitor a on another page: %d %s, want 429 per_visitor", code, msg)
		}
		if code, msg := postCallback(t, p, number(21), "Cookie", "sb_ctx="+b); code != 202 {
			t.Errorf("visitor b with the same context: %d %s, want 202", code, msg)
		}
		m := scrapeMetrics(t, p)
		for _, limit := range []string{"callbacks.per_number", "callbacks.per_visitor"} {
			if v := m[`switchboard_refused_total{limit="`+limit+`"}`]; v != 1 {
				t.Errorf("switchboard_refused_total{limit=%s} = %v, want 1", limit, v)
			}
		}
	})

	t.Run("per region per day", func(t *testing.T) {
		p := startCallServer(t, "trunk.port="+port, "callbacks.per_ip=100", "callbacks.per_number=100",
			"callbacks.per_region_per_day=2")
		agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
		for i, phone := range []string{"06 12 34 56 01", "+33 6 12 34 56 02", "+33 6 12 34 56 03", "+32 470 12 34 56"} {
			code, msg := postCallback(t, p, `{"group":"billing","phone":"`+phone+`"}`)
			if want := map[bool]int{true: 429, false: 202}[i == 2]; code != want || (i == 2 && !strings.Contains(msg, "callbacks.per_region_per_day")) {
				t.Errorf("request %d for %s: %d %s, want %d", i+1, phone, code, msg, want)
			}
		}
	})

	t.Run("trunk calls per minute", func(t *testing.T) {
		p := startCallServer(t, "trunk.port="+port, "callbacks.per_ip=100", "callbacks.trunk_calls_per_minute=1",
			"calls.ring_timeout=1s")
		agent(t, p, "alice", calltest.Behaviour{Action: calltest.Ring}, false)
		agent(t, p, "bob", calltest.Behaviour{Action: calltest.Ring}, false)
		for i := range 2 {
			if code, msg := postCallback(t, p, number(30+i)); code != 202 {
				t.Fatalf("request %d: %d %s", i+1, code, msg)
			}
		}
		// Two agents free, two callbacks: one attempt starts, the other
		// waits for the next minute.
		siptest.WaitFor(t, "an attempt postponed", func() bool {
			return scrapeMetrics(t, p)[`switchboard_refused_total{limit="callbacks.trunk_calls_per_minute"}`] >= 1
		})
	})
}
