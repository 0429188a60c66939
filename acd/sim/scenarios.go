package sim

import (
	"math"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// Standard scenario parameters: ten agents, 4 minute handle time, 3 minute
// patience, and 50,000 visitors.
const (
	stdAgents   = 10
	stdHandle   = 4 * time.Minute
	stdPatience = 3 * time.Minute
	stdVisitors = 50_000
)

// Scenarios returns the standard scenarios:
//
//   - steady: offered load 1.05 × s·μ (10.5 Erlang on 10 agents), the
//     busy, slightly overloaded regime where waits matter;
//   - time-varying: a sinusoidal arrival rate between 0.7 and 1.3 × s·μ
//     with a 2 hour period, so that the queue fills and drains;
//   - step: the arrival rate jumps between 0.7 and 1.3 × s·μ every 30
//     minutes, the harshest case for any average of past waits;
//   - light: load 0.8, where few wait and waits are short;
//   - lognormal service CV 1.5 and CV 2 (load 1.05): handle times far
//     more spread than exponential, as in real contact centres;
//   - lognormal patience CV 0.5 (load 1.1): patience not exponential,
//     which the estimator's abandonment rate assumes;
//   - staffing: 10 agents, 6 of them for the second hour of every three,
//     at load 0.9 of the full staff;
//   - service-steady, service-wrap-up (30 s after each call),
//     service-shared-agents (two groups of different priority served by
//     the same agents) and service-no-answer (one ring in ten goes
//     unanswered for 20 s): the steady load through the real
//     acd.Service, 10,000 visitors each; service-staffing: the staffing
//     scenario through it, agents set away and back.
//
// The estimator is seeded 30% off the truth in the unhelpful directions:
// handle time 30% long, patience 30% short; its Weight is the default.
func Scenarios() []Scenario {
	sm := float64(stdAgents) / stdHandle.Seconds() // s·μ, per second
	seed := acd.DefaultEstimatorConfig()
	seed.HandleTime = stdHandle * 13 / 10
	seed.Patience = stdPatience * 7 / 10
	base := Scenario{
		Agents:        stdAgents,
		HandleTime:    stdHandle,
		Patience:      stdPatience,
		Visitors:      stdVisitors,
		EstimatorSeed: seed,
	}
	steady := base
	steady.Name = "steady"
	steady.Arrival = func(time.Duration) float64 { return 1.05 * sm }
	steady.MaxArrival = 1.05 * sm
	steady.Seed = 1

	varying := base
	varying.Name = "time-varying"
	const period = 2 * time.Hour
	varying.Arrival = func(t time.Duration) float64 {
		return sm * (1 + 0.3*math.Sin(2*math.Pi*t.Seconds()/period.Seconds()))
	}
	varying.MaxArrival = 1.3 * sm
	varying.Seed = 2

	step := base
	step.Name = "step"
	step.Arrival = func(t time.Duration) float64 {
		if (t/(30*time.Minute))%2 == 0 {
			return 0.7 * sm
		}
		return 1.3 * sm
	}
	step.MaxArrival = 1.3 * sm
	step.Seed = 3

	light := base
	light.Name = "light"
	light.Arrival = func(time.Duration) float64 { return 0.8 * sm }
	light.MaxArrival = 0.8 * sm
	light.Seed = 4

	service15 := steady
	service15.Name = "lognormal-service-cv1.5"
	service15.Service = Dist{Lognormal: true, CV: 1.5}
	service15.Seed = 5
	service2 := steady
	service2.Name = "lognormal-service-cv2"
	service2.Service = Dist{Lognormal: true, CV: 2}
	service2.Seed = 6

	patience := steady
	patience.Name = "lognormal-patience-cv0.5"
	patience.Impatience = Dist{Lognormal: true, CV: 0.5}
	patience.Arrival = func(time.Duration) float64 { return 1.1 * sm }
	patience.MaxArrival = 1.1 * sm
	patience.Seed = 7

	staff := base
	staff.Name = "staffing"
	staff.Arrival = func(time.Duration) float64 { return 0.9 * sm }
	staff.MaxArrival = 0.9 * sm
	staff.Staffing = func(t time.Duration) int {
		if (t/time.Hour)%3 == 1 {
			return 6
		}
		return stdAgents
	}
	staff.Seed = 8

	// Through the real acd.Service: the steady case again (the formula
	// and the product must agree), with a 30 s wrap-up, and two groups
	// of different priority sharing the agents.
	svcSteady := steady
	svcSteady.Name = "service-steady"
	svcSteady.ThroughService = true
	svcSteady.Visitors = stdVisitors / 5
	svcSteady.Seed = 9
	svcWrap := svcSteady
	svcWrap.Name = "service-wrap-up"
	svcWrap.WrapUp = 30 * time.Second
	svcWrap.Seed = 10
	shared := svcSteady
	shared.Name = "service-shared-agents"
	shared.Groups = 2
	shared.Seed = 11

	noAnswer := svcSteady
	noAnswer.Name = "service-no-answer"
	noAnswer.NoAnswer = 0.1
	noAnswer.Seed = 12
	svcStaff := staff
	svcStaff.Name = "service-staffing"
	svcStaff.ThroughService = true
	svcStaff.Visitors = stdVisitors / 5
	svcStaff.Seed = 13

	return []Scenario{steady, varying, step, light, service15, service2, patience, staff,
		svcSteady, svcWrap, shared, noAnswer, svcStaff}
}
