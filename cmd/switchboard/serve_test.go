package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServe_HealthMetricsAndGracefulStop(t *testing.T) {
	p := startSwitchboard(t, t.TempDir())
	for path, want := range map[string]string{
		"/healthz": `"ok"`,
		"/readyz":  `"ready"`,
		"/metrics": "switchboard_presence_publications",
	} {
		res, err := http.Get("http://" + p.HTTP + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
	}
	p.stop()
}
