package httpapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/internal/siptest"
)

// groups is the availability the test's source reports; tests change it.
type groups struct {
	mu sync.Mutex
	st []acd.GroupStatus
}

func (g *groups) source() []acd.GroupStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]acd.GroupStatus(nil), g.st...)
}

func (g *groups) set(st ...acd.GroupStatus) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st = st
}

func startWeb(t *testing.T, g *groups) string {
	t.Helper()
	return startWebRole(t, g, Config{Addr: "127.0.0.1:0"}).base
}

// webRole is the web role serving a test.
type webRole struct {
	*Server
	base         string
	endSnapshots context.CancelFunc // ends Snapshots.Run
	stop         func()             // stops everything and waits for its goroutines
}

// startWebRole starts the web role on cfg, serving g, and stops it when
// the test ends; tune adjusts its streams before it runs.
func startWebRole(tb testing.TB, g *groups, cfg Config, tune ...func(*streams)) *webRole {
	tb.Helper()
	w := newWebRole(tb, g, cfg, tune...)
	tb.Cleanup(w.stop)
	return w
}

// newWebRole starts the web role on cfg, serving g; the caller stops it.
func newWebRole(tb testing.TB, g *groups, cfg Config, tune ...func(*streams)) *webRole {
	tb.Helper()
	web := WebConfig{RefreshInterval: 100 * time.Millisecond, AllowedOrigins: []string{"https://shop.example.com"},
		CookieMaxAge: time.Hour, CustomerTokenKey: "site-secret"}
	snaps, err := NewSnapshots(g.source, web.RefreshInterval)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(cfg, Deps{Ready: func() error { return nil },
		Snapshots: snaps, Web: web, CookieKey: []byte("test cookie key, 32 bytes long!!")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range tune {
		f(s.streams)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { snaps.Run(ctx) })
	ran := make(chan struct{})
	wg.Go(func() { defer close(ran); s.Run() })
	scheme := "http://"
	if cfg.CertFile != "" {
		scheme = "https://"
	}
	return &webRole{Server: s, base: scheme + s.Addr(), endSnapshots: cancel, stop: func() {
		// Shutdown refuses a server that is not running yet.
		siptest.WaitFor(tb, "server running", func() bool {
			select {
			case <-ran:
				return true
			default:
				return s.h.IsRunning()
			}
		})
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		s.Shutdown(sctx)
		wg.Wait()
	}}
}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}

func fetch(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	var res *http.Response
	var err error
	siptest.WaitFor(t, "web server up", func() bool { res, err = noKeepAlive.Do(req); return err == nil })
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	body, _ := io.ReadAll(r)
	return res, string(body)
}

var support = acd.GroupStatus{ID: "support", Name: "Support", Skill: "support", Open: true}

var billing = acd.GroupStatus{ID: "billing", Name: "Billing", Skill: "billing", Open: true,
	Busy: 2, QueueLength: 3, EWT: 150 * time.Second, Band: "1–3 minutes"}

func TestAvailability_JSONWithETagCacheAnd304(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	res, body := fetch(t, "GET", base+"/v1/availability")
	var doc struct {
		GeneratedAt     string      `json:"generated_at"`
		RefreshInterval int         `json:"refresh_interval_seconds"`
		Groups          []groupView `json:"groups"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s: %v", res.StatusCode, body, err)
	}
	want := groupView{ID: "billing", Name: "Billing", Skill: "billing", Status: "full", BusyAgents: 2,
		QueueLength: 3, EWTSeconds: 150, EWTBand: "1–3 minutes"}
	if len(doc.Groups) != 1 || doc.Groups[0] != want || doc.GeneratedAt == "" {
		t.Fatalf("got %+v", doc)
	}
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || res.Header.Get("Cache-Control") != "public, max-age=0" { // a 100 ms interval
		t.Fatalf("ETag %q Cache-Control %q", etag, res.Header.Get("Cache-Control"))
	}
	if res, _ := fetch(t, "GET", base+"/v1/availability", "If-None-Match", etag); res.StatusCode != 304 {
		t.Fatalf("matching If-None-Match: %d", res.StatusCode)
	}
	if res, body := fetch(t, "GET", base+"/v1/availability", "Accept-Encoding", "gzip"); res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, `"billing"`) {
		t.Fatalf("gzip: %q %s", res.Header.Get("Content-Encoding"), body)
	}
	if res, body := fetch(t, "GET", base+"/v1/availability/billing"); res.StatusCode != 200 || !strings.Contains(body, `"ewt_seconds":150`) {
		t.Fatalf("one group: %d %s", res.StatusCode, body)
	}
	if res, body := fetch(t, "GET", base+"/v1/availability/nope"); res.StatusCode != 404 || !strings.Contains(body, `"error":"unknown_group"`) {
		t.Fatalf("unknown group: %d %s", res.StatusCode, body)
	}
}

func TestAvailability_SnapshotFollowsChangesAtTheInterval(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	first, _ := fetch(t, "GET", base+"/v1/availability")
	open := billing
	open.Available, open.Accepting, open.EWT, open.Band = 1, true, 0, "under 1 minute"
	g.set(open)
	var body string
	siptest.WaitFor(t, "snapshot refreshed", func() bool {
		var res *http.Response
		res, body = fetch(t, "GET", base+"/v1/availability", "If-None-Match", first.Header.Get("ETag"))
		return res.StatusCode == 200
	})
	if !strings.Contains(body, `"status":"open"`) || !strings.Contains(body, `"available_agents":1`) {
		t.Fatalf("after the change: %s", body)
	}
}

func TestAvailability_CORSOnlyForConfiguredOrigins(t *testing.T) {
	g := &groups{}
	g.set(billing)
	base := startWeb(t, g)
	res, _ := fetch(t, "GET", base+"/v1/availability", "Origin", "https://shop.example.com")
	if res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Fatalf("allowed origin: %q", res.Header.Get("Access-Control-Allow-Origin"))
	}
	res, _ = fetch(t, "GET", base+"/v1/availability", "Origin", "https://evil.example.net")
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS header for an origin not configured")
	}
	res, _ = fetch(t, "OPTIONS", base+"/v1/availability", "Origin", "https://shop.example.com", "Access-Control-Request-Method", "GET")
	if res.StatusCode != 204 || !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight: %d %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Methods"))
	}
}
