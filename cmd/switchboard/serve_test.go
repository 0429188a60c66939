package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServe_HealthMetricsAndGracefulStop(t *testing.T) {
	p := startSwitchboard(t, t.TempDir())
	for url, want := range map[string]string{
		p.HTTP + "/healthz":    `"ok"`,
		p.HTTP + "/readyz":     `"ready"`,
		p.Metrics + "/metrics": "switchboard_presence_publications",
	} {
		res, err := http.Get("http://" + url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d %s", url, res.StatusCode, body)
		}
	}
	if code := httpStatus(p, "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the visitors' port: %d, want 404", code)
	}
	p.stop()
}
