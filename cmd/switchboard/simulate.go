package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/switchboard/switchboard/acd/sim"
)

// simulateCommand runs the standard call-centre simulations of acd/sim,
// each with several seeds, and prints how the ACD's estimated waiting time
// compares with the same predictor given the true rates and with
// Asterisk's announced hold time, on served visitors and on abandoners'
// potential waits.
//
//	switchboard simulate [-visitors N] [-seeds K] [-seed S] [-format text|json]
//
// simulateOptions are simulate's flags.
type simulateOptions struct {
	visitors, seeds *int
	seed            *uint64
	format          *string
}

func simulateFlags() (*flag.FlagSet, simulateOptions) {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	return fs, simulateOptions{
		visitors: fs.Int("visitors", 0, "visitors per scenario and seed (default: each scenario's own, 50000)"),
		seeds:    fs.Int("seeds", 5, "seeds per scenario, for the 95% intervals"),
		seed:     fs.Uint64("seed", 0, "first seed of every scenario (default: each scenario's own)"),
		format:   fs.String("format", "text", "text (a table with a legend) or json (one object per scenario and line)"),
	}
}

func simulateCommand(args []string, stdout, stderr io.Writer) int {
	fs, o := simulateFlags()
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	visitors, seeds, seed, format := o.visitors, o.seeds, o.seed, o.format
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "switchboard simulate: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *visitors < 0:
		fmt.Fprintln(stderr, "switchboard simulate: -visitors must not be negative")
		return 2
	case *seeds < 1:
		fmt.Fprintln(stderr, "switchboard simulate: -seeds must be at least 1")
		return 2
	case *format != "text" && *format != "json":
		fmt.Fprintf(stderr, "switchboard simulate: -format %q: text or json\n", *format)
		return 2
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })

	var ss []sim.Summary
	for _, sc := range sim.Scenarios() {
		if *visitors > 0 {
			sc.Visitors = *visitors
		}
		first := sc.Seed * 1000 // the scenarios' own seeds, far apart
		if seedSet {
			first = *seed
		}
		var list []uint64
		for i := range *seeds {
			list = append(list, first+uint64(i))
		}
		ss = append(ss, sim.Summarize(sc, list))
	}
	if *format == "json" {
		if err := sim.WriteJSON(stdout, ss); err != nil {
			fmt.Fprintln(stderr, "switchboard simulate:", err)
			return 1
		}
		return 0
	}
	sim.WriteTable(stdout, ss)
	return 0
}
