package httpapi

import (
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Admin is the operator's endpoint on the metrics listener: GET
// /admin/backup streams a consistent copy of the running server's store
// (`switchboard backup` calls it). It takes "Authorization: Bearer
// <Token>"; the server makes a random token at each start and writes it,
// with the listener's address, in the owner file beside the store (mode
// 0600), so whoever may read the store may back it up, and nobody else.
type Admin struct {
	Token string
	// Backup writes the copy to the writer start returns, given its size.
	Backup func(start func(size int64) io.Writer) (int64, error)
	Log    *slog.Logger
}

func (a Admin) enabled() bool { return a.Token != "" && a.Backup != nil }

func (a Admin) authorized(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	want := "Bearer " + a.Token
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// serveBackup answers GET /admin/backup with the store, its size as
// Content-Length, so that a client tells a whole copy from a cut one.
func (a Admin) serveBackup(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard admin"`)
		http.Error(w, "a bearer token is required (the owner file beside the store)", http.StatusUnauthorized)
		return
	}
	// A large store takes longer than the listener's write timeout.
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	start := time.Now()
	n, err := a.Backup(func(size int64) io.Writer {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Content-Disposition", `attachment; filename="switchboard.db"`)
		return w
	})
	if err != nil {
		// Headers are gone: the short body tells the client.
		a.Log.Warn("backup failed", "error", err, "bytes", n)
		return
	}
	a.Log.Info("backup sent", "bytes", n, "took", time.Since(start).Round(time.Millisecond), "remote", r.RemoteAddr)
}
