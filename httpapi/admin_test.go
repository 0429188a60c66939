package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// /admin/backup streams the copy with its length to the token's bearer
// only; without a token it is not served at all.
func TestAdmin_BackupNeedsTheToken(t *testing.T) {
	payload := strings.Repeat("page", 1000)
	admin := Admin{Token: "t0ken", Log: slog.New(slog.DiscardHandler),
		Backup: func(start func(int64) io.Writer) (int64, error) {
			n, err := io.WriteString(start(int64(len(payload))), payload)
			return int64(n), err
		}}
	for _, a := range []Admin{admin, {}} {
		m, err := NewMetrics(MetricsConfig{Addr: "127.0.0.1:0"}, prometheus.NewRegistry(), a)
		if err != nil {
			t.Fatal(err)
		}
		go m.Run()
		t.Cleanup(func() { m.Shutdown(context.Background()) })
		for _, c := range []struct {
			auth string
			want int
		}{{"", 401}, {"Bearer wrong", 401}, {"Bearer t0ken", 200}} {
			req, _ := http.NewRequest("GET", "http://"+m.Addr()+"/admin/backup", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			want := c.want
			if a.Token == "" {
				want = 404
			}
			if res.StatusCode != want {
				t.Fatalf("token %q, %q: %d, want %d", a.Token, c.auth, res.StatusCode, want)
			}
			if want == 200 && (string(body) != payload || res.ContentLength != int64(len(payload))) {
				t.Fatalf("backup: %d bytes, Content-Length %d", len(body), res.ContentLength)
			}
		}
	}
}
