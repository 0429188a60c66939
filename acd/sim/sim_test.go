package sim

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// belowAsterisk is the share of Asterisk's RMSE the estimate must stay
// under: 0.70 is the goal. With the five seeds of switchboard simulate
// only two scenarios miss it: a lower-priority group sharing its agents
// (0.77) and missed rings (0.71, where the estimate with the true rates
// is at 0.69); with the three seeds here, two more lie within their 95%
// interval of it (issue 12).
var belowAsterisk = map[string]float64{
	"lognormal-service-cv2": 0.72, "service-shared-agents": 0.80,
	"service-no-answer": 0.74, "service-staffing": 0.73,
}

// coverageFloor is the least share of waits within the 60% interval: 0.52
// where the interval is right; missed rings (20 s each, not in the model)
// widen the waits beyond it (issue 12).
var coverageFloor = map[string]float64{"service-no-answer": 0.46}

// TestScenarios_Claims checks, for every standard scenario over three
// seeds, what the ACD's estimated waiting time is meant to deliver on
// served visitors: learning the rates online costs at most 10% RMSE
// against knowing them, and the result is at least 30% more accurate than
// Asterisk's announced hold time (belowAsterisk says where not yet).
func TestScenarios_Claims(t *testing.T) {
	var ss []Summary
	for _, sc := range Scenarios() {
		s := Summarize(sc, []uint64{sc.Seed, sc.Seed + 100, sc.Seed + 200})
		ss = append(ss, s)
		if r := s.Served.VsQLTrue(); r > 1.10 {
			t.Errorf("%s: estimator RMSE %.1f s > 1.10 × ql-true %.1f s (ratio %.3f)", sc.Name, s.Served.RMSEEstimate, s.Served.RMSEQLTrue, r)
		}
		goal := 0.70
		if g, ok := belowAsterisk[sc.Name]; ok {
			goal = g
		}
		floor := 0.52
		if f, ok := coverageFloor[sc.Name]; ok {
			floor = f
		}
		if c := s.Served.Coverage; c < floor || c > 0.68 {
			t.Errorf("%s: %.2f of the waits fell within the 60%% interval", sc.Name, c)
		}
		if r := s.Served.VsAsterisk(); r > goal {
			t.Errorf("%s: estimator RMSE %.1f s > %.2f × asterisk %.1f s (ratio %.3f)", sc.Name, s.Served.RMSEEstimate, goal, s.Served.RMSEAsterisk, r)
		}
	}
	var b bytes.Buffer
	WriteTable(&b, ss)
	t.Logf("\n%s", b.String())
}

func TestRun_Deterministic(t *testing.T) {
	for _, sc := range Scenarios() {
		sc.Visitors = 5000
		a, b := Run(sc), Run(sc)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs with seed %d differ:\n%+v\n%+v", sc.Name, sc.Seed, a, b)
		}
		sc.Seed++
		if c := Run(sc); reflect.DeepEqual(a, c) {
			t.Errorf("%s: seeds %d and %d give the same result", sc.Name, sc.Seed-1, sc.Seed)
		}
	}
}

// TestRun_MatchesErlangA checks the simulation itself against the
// stationary M/M/s+M birth-death chain: the share of visitors who abandon
// and the share who must wait.
func TestRun_MatchesErlangA(t *testing.T) {
	sc := Scenarios()[0]
	sc.Visitors = 200_000
	r := Run(sc)
	lambda := sc.Arrival(0)
	mu, theta := 1/sc.HandleTime.Seconds(), 1/sc.Patience.Seconds()
	p := []float64{1}
	for n := 1; n < 1000; n++ {
		d := float64(min(n, sc.Agents))*mu + float64(max(n-sc.Agents, 0))*theta
		p = append(p, p[n-1]*lambda/d)
	}
	var z, queue, wait float64
	for n, x := range p {
		z += x
		queue += float64(max(n-sc.Agents, 0)) * x
		if n >= sc.Agents {
			wait += x
		}
	}
	wantAbandon := theta * queue / z / lambda
	wantWait := wait / z

	if r.Served+r.Abandoned != sc.Visitors {
		t.Fatalf("served %d + abandoned %d != %d visitors", r.Served, r.Abandoned, sc.Visitors)
	}
	gotAbandon := float64(r.Abandoned) / float64(sc.Visitors)
	gotWait := float64(r.Compared+r.Abandoned) / float64(sc.Visitors) // everyone who abandons had to wait
	if math.Abs(gotAbandon-wantAbandon) > 0.01 {
		t.Errorf("abandoned share %.4f, Erlang-A %.4f", gotAbandon, wantAbandon)
	}
	if math.Abs(gotWait-wantWait) > 0.015 {
		t.Errorf("waiting share %.4f, Erlang-A %.4f", gotWait, wantWait)
	}
}

func TestRun_TimeVaryingRateIsThinned(t *testing.T) {
	// Arrivals only in the first half of each 20 minute cycle: with the
	// agents idle half the time, the second-half queue must empty.
	sc := Scenarios()[0]
	sc.Name = "on-off"
	sc.Visitors = 20_000
	sm := float64(sc.Agents) / sc.HandleTime.Seconds()
	sc.Arrival = func(t time.Duration) float64 {
		if (t/(10*time.Minute))%2 == 0 {
			return 2 * sm
		}
		return 0
	}
	sc.MaxArrival = 2 * sm
	r := Run(sc)
	if r.Served+r.Abandoned != sc.Visitors {
		t.Fatalf("served %d + abandoned %d != %d visitors", r.Served, r.Abandoned, sc.Visitors)
	}
	// At twice the capacity for half the time the overall load is 1, but
	// the bursts drive many more abandons than a steady load of 1 would.
	if share := float64(r.Abandoned) / float64(sc.Visitors); share < 0.15 {
		t.Errorf("abandoned share %.3f under bursts, want well above steady-state", share)
	}
}

func TestRun_PanicsOnMalformedScenario(t *testing.T) {
	tests := map[string]func(*Scenario){
		"no agents":          func(sc *Scenario) { sc.Agents = 0 },
		"no handle time":     func(sc *Scenario) { sc.HandleTime = 0 },
		"no patience":        func(sc *Scenario) { sc.Patience = 0 },
		"no max arrival":     func(sc *Scenario) { sc.MaxArrival = 0 },
		"rate above the max": func(sc *Scenario) { sc.MaxArrival /= 2 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			sc := Scenarios()[0]
			sc.Visitors = 100
			mutate(&sc)
			defer func() {
				if recover() == nil {
					t.Error("Run did not panic")
				}
			}()
			Run(sc)
		})
	}
}

func TestWriteTable(t *testing.T) {
	var ss []Summary
	for _, sc := range Scenarios() {
		sc.Visitors = 2000
		ss = append(ss, Summarize(sc, []uint64{1, 2}))
	}
	var b bytes.Buffer
	WriteTable(&b, ss)
	table, legend, ok := strings.Cut(b.String(), "\n\n")
	if !ok || strings.TrimSpace(legend) != Legend {
		t.Fatalf("no legend after the table:\n%s", b.String())
	}
	lines := strings.Split(table, "\n")
	if want := 1 + 3*len(ss); len(lines) != want {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), want, b.String())
	}
	for _, h := range []string{"scenario", "predictor", "RMSE served (s)", "RMSE potential (s)", "vs ql", "vs asterisk", "in 60%"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q lacks %q", lines[0], h)
		}
	}
	for i, s := range ss {
		for j, p := range Predictors() {
			f := strings.Fields(lines[1+3*i+j])
			if f[0] != s.Scenario || f[1] != p {
				t.Errorf("row %d = %q, want scenario %s predictor %s", 1+3*i+j, lines[1+3*i+j], s.Scenario, p)
			}
		}
	}
}

func BenchmarkRun(b *testing.B) {
	for _, sc := range Scenarios() {
		b.Run(sc.Name, func(b *testing.B) {
			for b.Loop() {
				Run(sc)
			}
		})
	}
}

// Through the real acd.Service, the steady scenario's estimate is as good
// as the formula's: the product shows what the formula promises.
func TestRunService_AgreesWithTheFormula(t *testing.T) {
	var formula, service Scenario
	for _, sc := range Scenarios() {
		switch sc.Name {
		case "steady":
			formula = sc
		case "service-steady":
			service = sc
		}
	}
	formula.Visitors = service.Visitors
	seeds := []uint64{21, 22, 23}
	f, s := Summarize(formula, seeds), Summarize(service, seeds)
	if d := math.Abs(s.Served.RMSEEstimate-f.Served.RMSEEstimate) / f.Served.RMSEEstimate; d > 0.10 {
		t.Errorf("estimate RMSE %.1f s through the service, %.1f s by the formula (%.0f%% apart)",
			s.Served.RMSEEstimate, f.Served.RMSEEstimate, 100*d)
	}
	if r := RunService(service); r.Served+r.Abandoned != service.Visitors {
		t.Errorf("served %d + abandoned %d of %d visitors", r.Served, r.Abandoned, service.Visitors)
	}
}
