// Command switchboard runs Switchboard: a SIP presence server, a customer
// support server (ACD and B2BUA) and a web facade, in one binary.
//
//	switchboard serve [--config FILE] [--log-format text|json] [--set path=value ...]
//	switchboard simulate [-visitors N] [-seed S]
//	switchboard version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: switchboard serve [--config FILE] [--log-format text|json] [--set path=value ...] | switchboard init-config | switchboard simulate [-visitors N] [-seed S] | switchboard version")
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "switchboard", buildVersion())
		return 0
	case "serve":
		return serveCommand(args[1:], stderr)
	case "simulate":
		return simulateCommand(args[1:], stdout, stderr)
	case "init-config":
		out, err := initConfig()
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			return 1
		}
		stdout.Write(out)
		return 0
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n", args[0])
	return 2
}

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

func serveCommand(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: the embedded configs/switchboard.yaml)")
	logFormat := fs.String("log-format", "", "log format, text or json (overrides log.format)")
	var sets setFlags
	fs.Var(&sets, "set", "override one setting, path=value (repeatable), e.g. --set sip.udp=127.0.0.1:5070")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *logFormat != "" {
		sets = append(sets, "log.format="+*logFormat)
	}
	cfg, err := loadConfig(*path, os.Environ(), sets)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid configuration: %v\n", err)
		return 1
	}
	level, _ := parseLevel(cfg.Log.Level)
	log := newLogger(stderr, cfg.Log.Format, level)
	tuneRuntime(log)

	// The first SIGTERM or SIGINT drains; a second one ends the process.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ctx.Done()
		stop()
		hard := make(chan os.Signal, 1)
		signal.Notify(hard, syscall.SIGTERM, syscall.SIGINT)
		<-hard
		log.Error("second signal: exiting at once")
		os.Exit(1)
	}()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("switchboard stopped", "error", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, errors.New("want debug, info, warn or error")
	}
	return l, nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "dev-" + s.Value[:min(12, len(s.Value))]
			}
		}
	}
	return "dev"
}
