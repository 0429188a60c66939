package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard/switchboard/store/natsstore"
)

// Build information, set by `make build` with -ldflags "-X main.version=…
// -X main.commit=… -X main.date=…"; read from Go's VCS stamp otherwise.
var version, commit, date string

// command is one of switchboard's subcommands.
type command struct {
	name, args, summary string
	run                 func(args []string, stdout, stderr io.Writer) int
}

// commands are switchboard's subcommands, in the order help lists them.
func commands() []command {
	return []command{
		{"serve", "[--config FILE] [--log-format text|json] [--set path=value ...]",
			"run the roles of the configuration (presence, acd, web)", func(a []string, _, e io.Writer) int { return serveCommand(a, e) }},
		{"check", "[--config FILE] [--set path=value ...]",
			"validate a configuration and print it as it takes effect, secrets masked", checkCommand},
		{"backup", "[--config FILE] [--set path=value ...] [--from URL [--token T]] FILE",
			"write a consistent copy of the store to FILE: from the server running on it, or from the file when none runs", backupCommand},
		{"restore", "[--config FILE] [--set path=value ...] FILE",
			"replace the store with the backup FILE, once checked; no server may run on the store", restoreCommand},
		{"compact", "[--config FILE] [--set path=value ...]",
			"rewrite the store without its free pages and print its size before and after; no server may run on it", compactCommand},
		{"cluster", "status [--config FILE] [--set path=value ...]",
			"show, for store.driver nats, the nodes (live, dead, taken over), the leaders and each bucket's replication", clusterCommand},
		{"init-config", "", "print the default configuration with random secrets, listening on every address", initConfigCommand},
		{"simulate", "[-visitors N] [-seeds N] [-seed S] [-format text|json]",
			"compare the waiting-time estimate with simulated call centres", simulateCommand},
		{"version", "", "print the version, commit and build date", versionCommand},
		{"help", "[COMMAND]", "print this help, or a command's", helpCommand},
	}
}

// run dispatches args to a command; help goes to stdout, mistakes to stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if isHelp(args[0]) {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		if slices.ContainsFunc(args[1:], isHelp) {
			commandHelp(stdout, c)
			return 0
		}
		return c.run(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

func usage(w io.Writer) {
	fmt.Fprintln(w, "Switchboard: a SIP presence server, a customer support server (ACD and B2BUA) and a web facade.")
	fmt.Fprintln(w, "\nUsage: switchboard COMMAND [options]   (switchboard COMMAND --help for its options)")
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nSettings come from the embedded configs/switchboard.yaml, then --config, then SWITCHBOARD_* environment variables, then --set.")
}

// commandHelp prints c's usage and, for a command with flags, its flags.
func commandHelp(w io.Writer, c command) {
	fmt.Fprintf(w, "Usage: switchboard %s %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.summary[:1])+c.summary[1:])
	if fs := flagsOf(c.name); fs != nil {
		fmt.Fprintln(w, "\nOptions:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// flagsOf is the flag set of command name, nil for one without flags.
func flagsOf(name string) *flag.FlagSet {
	switch name {
	case "serve":
		fs, _, _, _ := serveFlags()
		return fs
	case "check", "cluster":
		fs, _, _ := configFlags(name)
		return fs
	case "backup", "restore", "compact":
		fs, _, _, _, _ := storeOpFlags(name)
		return fs
	case "simulate":
		fs, _ := simulateFlags()
		return fs
	}
	return nil
}

func helpCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			commandHelp(stdout, c)
			return 0
		}
	}
	fmt.Fprintf(stderr, "switchboard help: unknown command %q\n", args[0])
	return 2
}

func versionCommand(_ []string, stdout, _ io.Writer) int {
	v, c, d := buildInfo()
	fmt.Fprintf(stdout, "switchboard %s (commit %s, built %s, %s)\n", v, c, d, runtime.Version())
	return 0
}

func initConfigCommand(_ []string, stdout, stderr io.Writer) int {
	out, err := initConfig()
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	stdout.Write(out)
	return 0
}

// buildInfo is the version, commit and build date: those set at link
// time, else the Go toolchain's VCS stamp, else "dev" and "unknown".
func buildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value[:min(12, len(s.Value))]
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

// configFlags are the flags of the commands that read a configuration.
func configFlags(name string) (fs *flag.FlagSet, path *string, sets *setFlags) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	path = fs.String("config", "", "configuration file (default: the embedded configs/switchboard.yaml)")
	sets = &setFlags{}
	fs.Var(sets, "set", "override one setting, path=value (repeatable), e.g. --set sip.udp=127.0.0.1:5070")
	return fs, path, sets
}

// checkCommand validates a configuration as serve would load it and
// prints it, as it takes effect, with every secret masked.
func checkCommand(args []string, stdout, stderr io.Writer) int {
	fs, path, sets := configFlags("check")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path, os.Environ(), *sets)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid configuration: %v\n", err)
		return 1
	}
	out, err := cfg.masked()
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	stdout.Write(out)
	fmt.Fprintln(stderr, "switchboard: the configuration is valid")
	return 0
}

// clusterCommand reports, for store.driver nats, the nodes that joined,
// which live, which died and who takes them over, the leaders, and the
// replication of every bucket, as JetStream sees them.
func clusterCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprintln(stderr, "switchboard cluster: want the subcommand status")
		return 2
	}
	fs, path, sets := configFlags("cluster")
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path, os.Environ(), *sets)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid configuration: %v\n", err)
		return 1
	}
	if cfg.Store.Driver != "nats" {
		fmt.Fprintf(stderr, "switchboard cluster: store.driver is %s: a single node, no cluster\n", cfg.Store.Driver)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := natsstore.Inspect(ctx, cfg.Store.NATS)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard cluster: %v\n", err)
		return 1
	}
	printClusterStatus(stdout, st)
	return 0
}

func printClusterStatus(w io.Writer, st natsstore.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "NODE\tPROCESS\tSTARTED\tSTATE")
	for _, m := range st.Members {
		state := "live"
		switch {
		case m.Live:
		case m.ClaimedBy != "":
			state = "dead, being taken over by " + m.ClaimedBy
		default:
			state = "dead, to be taken over"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Node, m.Owner, m.Started.Format(time.RFC3339), state)
	}
	fmt.Fprintln(tw, "\nROLE\tLEADER")
	for _, role := range slices.Sorted(maps.Keys(st.Leaders)) {
		fmt.Fprintf(tw, "%s\t%s\n", role, st.Leaders[role])
	}
	fmt.Fprintln(tw, "\nBUCKET\tMESSAGES\tBYTES\tLEADER\tREPLICAS")
	for _, b := range st.Buckets {
		var rs []string
		for _, r := range b.Replicas {
			state := "current"
			switch {
			case r.Offline:
				state = "offline"
			case !r.Current:
				state = fmt.Sprintf("lag %d", r.Lag)
			}
			rs = append(rs, r.Server+" "+state)
		}
		leader := b.Leader
		if leader == "" {
			leader = "(single server)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", b.Bucket, b.Values, b.Bytes, leader, strings.Join(rs, ", "))
	}
}
