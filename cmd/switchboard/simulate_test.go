package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/acd/sim"
)

func TestSimulateCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := simulateCommand([]string{"-visitors", "3000", "-seed", "7"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	table := out.String()
	for _, sc := range []string{"steady", "time-varying"} {
		for _, p := range []string{"estimator", "ql-true", "asterisk"} {
			if !hasRow(table, sc, p) {
				t.Errorf("no row for scenario %s, predictor %s in\n%s", sc, p, table)
			}
		}
	}
	for _, sc := range sim.Scenarios() {
		if !strings.Contains(table, sc.Name) {
			t.Errorf("scenario %s missing from\n%s", sc.Name, table)
		}
	}

	// The same flags give the same table; another seed another one.
	var again, other bytes.Buffer
	simulateCommand([]string{"-visitors", "3000", "-seed", "7"}, &again, &errb)
	simulateCommand([]string{"-visitors", "3000", "-seed", "8"}, &other, &errb)
	if again.String() != table {
		t.Errorf("same seed, different tables:\n%s\n%s", table, again.String())
	}
	if other.String() == table {
		t.Error("seeds 7 and 8 print the same table")
	}
}

func TestSimulateCommand_BadFlags(t *testing.T) {
	for _, args := range [][]string{{"-visitors", "x"}, {"-visitors", "-1"}, {"-nope"}, {"extra"}} {
		var out, errb bytes.Buffer
		if code := simulateCommand(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

func hasRow(table, scenario, predictor string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == scenario && f[1] == predictor {
			return true
		}
	}
	return false
}
