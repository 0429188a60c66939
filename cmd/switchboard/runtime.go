package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// defaultGCPercent replaces Go's 100 unless GOGC is set. A presence server
// keeps a large live heap (publications, dialogs, and sipgo's server
// transactions, held 32 s for retransmissions over UDP); at 100 the
// collector marks that heap so often that its assists push answers past
// T1 (500 ms) under load, and clients retransmit. Measured with make
// bench: sustained PUBLISH/s went from about 8,600 to over 12,000.
const defaultGCPercent = 400

// tuneRuntime sets the collector's target and, unless GOMEMLIMIT is set,
// a soft memory limit of three quarters of the machine's memory, so the
// larger target cannot grow the heap into the out-of-memory killer.
func tuneRuntime(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	total, err := memoryTotal()
	if err != nil {
		log.Warn("no memory limit set", "error", err)
		return
	}
	debug.SetMemoryLimit(total / 4 * 3)
}
