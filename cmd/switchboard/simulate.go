package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/switchboard/switchboard/acd/sim"
)

// simulateCommand runs the standard call-centre simulations of acd/sim and
// prints how the ACD's estimated waiting time compares with the same
// predictor given the true rates and with Asterisk's announced hold time.
//
//	switchboard simulate [-visitors N] [-seed S]
func simulateCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	visitors := fs.Int("visitors", 0, "visitors per scenario (default: each scenario's own, 50000)")
	seed := fs.Uint64("seed", 0, "random seed for every scenario (default: each scenario's own)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "switchboard simulate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *visitors < 0 {
		fmt.Fprintln(stderr, "switchboard simulate: -visitors must not be negative")
		return 2
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })

	var rs []sim.Result
	for _, sc := range sim.Scenarios() {
		if *visitors > 0 {
			sc.Visitors = *visitors
		}
		if seedSet {
			sc.Seed = *seed
		}
		rs = append(rs, sim.Run(sc))
	}
	sim.WriteTable(stdout, rs)
	return 0
}
