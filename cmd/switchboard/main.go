// Command switchboard runs Switchboard: a SIP presence server, a customer
// support server (ACD and B2BUA) and a web facade, in one binary.
//
//	switchboard serve [--config FILE] [--log-format text|json] [--set path=value ...]
//	switchboard check [--config FILE] [--set path=value ...]
//	switchboard backup [--config FILE] [--set path=value ...] [--from URL [--token T]] FILE
//	switchboard restore [--config FILE] [--set path=value ...] FILE
//	switchboard compact [--config FILE] [--set path=value ...]
//	switchboard init-config
//	switchboard simulate [-visitors N] [-seeds N] [-seed S] [-format text|json]
//	switchboard version
//	switchboard help [COMMAND]
//
// cli.go holds the commands and their help.
package main

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// serveFlags are serve's flags: those of the configuration, and the log
// format.
func serveFlags() (fs *flag.FlagSet, path *string, sets *setFlags, logFormat *string) {
	fs, path, sets = configFlags("serve")
	logFormat = fs.String("log-format", "", "log format, text or json (overrides log.format)")
	return fs, path, sets, logFormat
}

func serveCommand(args []string, stderr io.Writer) int {
	fs, path, sets, logFormat := serveFlags()
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *logFormat != "" {
		*sets = append(*sets, "log.format="+*logFormat)
	}
	cfg, err := loadConfig(*path, os.Environ(), *sets)
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
		opts.ReplaceAttr = sameWordsAsText
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// sameWordsAsText has the JSON log write values as the text log does:
// durations as "1.5s", not nanoseconds, and named values (an agent's
// state, a call's) by their names, not their numbers.
func sameWordsAsText(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindDuration:
		a.Value = slog.StringValue(v.Duration().String())
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error, json.Marshaler, encoding.TextMarshaler:
		case fmt.Stringer:
			a.Value = slog.StringValue(x.String())
		}
	}
	return a
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, errors.New("want debug, info, warn or error")
	}
	return l, nil
}
