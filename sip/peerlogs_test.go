package sip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// What a peer sends cannot fill the disk: an unparseable 60 kB datagram is
// logged at debug as an excerpt, and a burst of one warning is cut to
// warnBurst lines, the next period's line counting the rest.
func TestPeerLogger_BoundsWhatPeersMakeUsLog(t *testing.T) {
	var buf bytes.Buffer
	log := PeerLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	datagram := strings.Repeat("X", 60000)
	log.Error("failed to parse", "data", datagram, "error", "bad start line")
	if buf.Len() != 0 {
		t.Fatalf("at info, a malformed datagram was logged:\n%.300s", buf.String())
	}

	buf.Reset()
	debug := PeerLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	debug.Error("failed to parse", "data", datagram)
	if out := buf.String(); !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "(60000 bytes)") || len(out) > 600 {
		t.Fatalf("at debug: %d bytes:\n%.600s", len(out), out)
	}

	buf.Reset()
	log.Warn("UDP ref went negative on try close", "src", "127.0.0.1:5060", "ref", -1) // at every stop
	if buf.Len() != 0 {
		t.Fatalf("at info, sipgo's reference count note was logged:\n%s", buf.String())
	}
	for range 1000 {
		log.Warn("write failed", "conn", "x")
	}
	if n := strings.Count(buf.String(), "\n"); n != warnBurst {
		t.Fatalf("%d lines for a burst of 1000 warnings, want %d", n, warnBurst)
	}
	buf.Reset()
	r := slog.NewRecord(time.Now().Add(warnPeriod), slog.LevelWarn, "write failed", 0)
	if err := log.Handler().Handle(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "suppressed=990") {
		t.Fatalf("the next period's line: %q", buf.String())
	}
}

// What handling a request makes us log at info (a wrong password) is
// bounded the same way: a thousand write warnBurst lines.
func TestPeerLogger_InfoIsBoundedToo(t *testing.T) {
	var buf bytes.Buffer
	log := PeerLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	for range 1000 {
		log.Info("sip authentication failed", "method", "REGISTER", "error", "bad credentials")
	}
	if n := strings.Count(buf.String(), "\n"); n != warnBurst {
		t.Errorf("%d lines for 1000 wrong passwords, want %d", n, warnBurst)
	}
}
