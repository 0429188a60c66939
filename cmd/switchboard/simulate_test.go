package main

import (
	"bytes"
	"encoding/json"
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
	for _, args := range [][]string{{"-visitors", "x"}, {"-visitors", "-1"}, {"-nope"}, {"extra"}, {"-seeds", "0"}, {"-format", "xml"}} {
		var out, errb bytes.Buffer
		if code := simulateCommand(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

// -format json prints one object per scenario, with the estimate's, the
// true-rate predictor's and Asterisk's RMSE on served visitors and on
// abandoners' potential waits, their 95% intervals and the seeds.
func TestSimulateCommand_JSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := simulateCommand([]string{"-visitors", "3000", "-seeds", "3", "-format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(sim.Scenarios()) {
		t.Fatalf("%d lines, want one per scenario:\n%s", len(lines), out.String())
	}
	for i, line := range lines {
		var s struct {
			Scenario          string   `json:"scenario"`
			Seeds             []uint64 `json:"seeds"`
			Served, Potential map[string]any
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		raw := map[string]map[string]any{"served": s.Served, "potential": s.Potential}
		for _, part := range []string{"served", "potential"} {
			for _, k := range []string{"rmse_estimate", "rmse_ql_true", "rmse_asterisk", "ci95"} {
				if _, ok := raw[part][k]; !ok {
					t.Errorf("%s: no %s.%s in %s", s.Scenario, part, k, line)
				}
			}
		}
		if s.Scenario != sim.Scenarios()[i].Name || len(s.Seeds) != 3 {
			t.Errorf("line %d: scenario %q, seeds %v", i+1, s.Scenario, s.Seeds)
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
