package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifyReady tells systemd (a Type=notify unit, deploy/systemd) that
// every listener is up, and, when the unit asks for a watchdog
// (WatchdogSec), pets it at half its interval until ctx is done: a process
// whose scheduler is wedged stops petting, and systemd restarts it.
// Outside systemd (no NOTIFY_SOCKET) it does nothing.
func notifyReady(ctx context.Context, log *slog.Logger, status string) {
	sent, err := daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS="+status)
	switch {
	case err != nil:
		log.Warn("systemd notify", "error", err)
		return
	case !sent:
		return
	}
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return
	}
	go func() {
		tick := time.NewTicker(every / 2)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			}
		}
	}()
}

// notifyStopping tells systemd the drain began.
func notifyStopping() { daemon.SdNotify(false, daemon.SdNotifyStopping) }
