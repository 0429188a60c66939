// Package sim is a seeded discrete-event simulation of a call centre queue,
// used to check the acd package's estimated waiting time against the truth
// and against what Asterisk's app_queue announces.
//
// The model is M/M/s+M (Erlang-A): Poisson arrivals (possibly with a
// time-varying rate), exponential handle times, s identical agents, one FIFO
// queue, and exponential patience: a waiting visitor whose patience runs out
// before an agent picks it up abandons.
//
// Each visitor who finds every agent busy on arrival is given three
// predictions of its wait at that moment:
//
//   - "estimator": an acd.Estimator seeded with Scenario.EstimatorSeed
//     (deliberately off the truth) and fed online with the simulation's own
//     observations, exactly as the ACD would feed it: every finished service
//     (ObserveHandled) and every visitor leaving the queue, served or
//     abandoned (ObserveWait);
//   - "ql-true": the same queue-length-with-abandonment predictor with the
//     true μ and α, i.e. an acd.Estimator seeded with the scenario's true
//     handle time and patience and a Weight of 0, which freezes it;
//   - "asterisk": what Asterisk's app_queue announces with announce-holdtime:
//     an exponential average of the hold times of answered callers,
//     holdtime = (old*3 + new)/4 (recalc_holdtime in app_queue.c), updated
//     for every answered caller, including those answered without waiting,
//     starting at 0. The simulation keeps it in float seconds, where
//     Asterisk keeps whole seconds and announces rounded minutes; both
//     differences only help Asterisk.
//
// Predictions are scored against the actual delay of the visitors who are
// eventually served, the standard practice in the waiting-time prediction
// literature (Whitt 1999; Ibrahim & Whitt 2009): an abandoning visitor's
// delay is censored by its patience, so it has no true wait to compare with.
// Visitors answered on arrival are left out: the ACD announces nothing to
// them.
package sim

import (
	"container/heap"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// The predictors Run scores, as keys of Result.RMSE and Result.MeanError.
const (
	Estimator = "estimator"
	QLTrue    = "ql-true"
	Asterisk  = "asterisk"
)

// Predictors lists the predictor keys in table order.
func Predictors() []string { return []string{Estimator, QLTrue, Asterisk} }

// Scenario describes one simulated skill group.
type Scenario struct {
	Name string
	// Agents serving the group; all of them stay for the whole run.
	Agents int
	// HandleTime and Patience are the true means of the exponential
	// handle time and patience.
	HandleTime, Patience time.Duration
	// Arrival is the arrival rate, per second, at time t since the start.
	Arrival func(t time.Duration) float64
	// MaxArrival bounds Arrival from above (per second); arrivals are drawn
	// by thinning a Poisson process of this rate. Run panics if Arrival
	// ever exceeds it.
	MaxArrival float64
	// Visitors is the number of arrivals to simulate; the run continues
	// until the last of them has left.
	Visitors int
	// Seed seeds the run's random numbers (PCG).
	Seed uint64
	// EstimatorSeed configures the online estimator under test.
	EstimatorSeed acd.EstimatorConfig
}

// Result summarises one run. Errors are prediction minus actual wait, over
// the visitors who found every agent busy and were eventually served.
type Result struct {
	Scenario string
	// Served and Abandoned count all visitors; Served includes those
	// answered on arrival.
	Served, Abandoned int
	// Compared is the number of visitors the predictions were scored on.
	Compared int
	// RMSE and MeanError per predictor key (Estimator, QLTrue, Asterisk).
	// A positive mean error is an overestimate.
	RMSE, MeanError map[string]time.Duration
}

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
//     minutes, the harshest case for any average of past waits.
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

	return []Scenario{steady, varying, step}
}

// Visitor states.
const (
	waiting = iota
	served
	abandoned
)

type visitor struct {
	arrive float64 // seconds since start
	state  uint8
	scored bool // predictions were made: it found every agent busy
	pred   [3]float64
}

// Event kinds. Arrivals are not events in the heap: Run keeps the next one
// aside.
const (
	departure = iota // an agent finishes a service
	abandon          // a waiting visitor's patience runs out
)

type event struct {
	t    float64 // seconds since start
	kind uint8
	v    int32   // visitor, for abandon
	d    float64 // handle time in seconds, for departure
}

type events []event

func (h events) Len() int           { return len(h) }
func (h events) Less(i, j int) bool { return h[i].t < h[j].t }
func (h events) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)        { *h = append(*h, x.(event)) }
func (h *events) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// Run simulates sc. It is deterministic: the same scenario and seed give the
// same result. It panics if the scenario is malformed (no agents, non-positive
// means, or an arrival rate above MaxArrival).
func Run(sc Scenario) Result {
	if sc.Agents < 1 || sc.HandleTime <= 0 || sc.Patience <= 0 || sc.Visitors < 0 ||
		!(sc.MaxArrival > 0) || sc.Arrival == nil {
		panic(fmt.Sprintf("sim: malformed scenario %q", sc.Name))
	}
	rng := rand.New(rand.NewPCG(sc.Seed, 0x5eed_ac0d_e57_1a7e))
	meanHandle := sc.HandleTime.Seconds()
	meanPatience := sc.Patience.Seconds()

	online := acd.NewEstimator(sc.EstimatorSeed)
	truth := acd.NewEstimator(acd.EstimatorConfig{HandleTime: sc.HandleTime, Patience: sc.Patience, Weight: 0})
	var holdtime float64 // Asterisk's queue holdtime, seconds

	var sumErr, sumSq [3]float64
	res := Result{Scenario: sc.Name}

	visitors := make([]visitor, 0, sc.Visitors)
	queue := make([]int32, 0, sc.Visitors) // FIFO of waiting visitors; queue[head:] may hold abandoned ones
	head := 0
	nWaiting := 0
	busy := 0
	var h events

	// startService hands visitor v to a free agent at time t.
	startService := func(v int, t float64) {
		vis := &visitors[v]
		vis.state = served
		res.Served++
		w := t - vis.arrive
		holdtime = (holdtime*3 + w) / 4
		if vis.scored {
			for k, p := range vis.pred {
				e := p - w
				sumErr[k] += e
				sumSq[k] += e * e
			}
			res.Compared++
		}
		busy++
		d := rng.ExpFloat64() * meanHandle
		heap.Push(&h, event{t: t + d, kind: departure, d: d})
	}

	// nextArrival draws the next arrival after t by thinning.
	nextArrival := func(t float64) float64 {
		for {
			t += rng.ExpFloat64() / sc.MaxArrival
			lambda := sc.Arrival(seconds(t))
			if lambda > sc.MaxArrival*(1+1e-12) {
				panic(fmt.Sprintf("sim: scenario %q: arrival rate %g above MaxArrival %g at %s",
					sc.Name, lambda, sc.MaxArrival, seconds(t)))
			}
			if rng.Float64()*sc.MaxArrival < lambda {
				return t
			}
		}
	}

	arrival := math.Inf(1)
	if sc.Visitors > 0 {
		arrival = nextArrival(0)
	}
	for !math.IsInf(arrival, 1) || h.Len() > 0 {
		if h.Len() == 0 || arrival < h[0].t {
			t := arrival
			v := len(visitors)
			visitors = append(visitors, visitor{arrive: t})
			if len(visitors) < sc.Visitors {
				arrival = nextArrival(t)
			} else {
				arrival = math.Inf(1)
			}
			if busy < sc.Agents {
				// Answered at once: the ACD reports a zero wait.
				online.ObserveWait(0, false)
				startService(v, t)
				continue
			}
			vis := &visitors[v]
			vis.scored = true
			vis.pred = [3]float64{
				online.Wait(nWaiting, sc.Agents).Seconds(),
				truth.Wait(nWaiting, sc.Agents).Seconds(),
				holdtime,
			}
			queue = append(queue, int32(v))
			nWaiting++
			heap.Push(&h, event{t: t + rng.ExpFloat64()*meanPatience, kind: abandon, v: int32(v)})
			continue
		}
		ev := heap.Pop(&h).(event)
		switch ev.kind {
		case departure:
			busy--
			online.ObserveHandled(seconds(ev.d))
			for nWaiting > 0 {
				v := int(queue[head])
				head++
				if visitors[v].state != waiting {
					continue // abandoned earlier
				}
				nWaiting--
				online.ObserveWait(seconds(ev.t-visitors[v].arrive), false)
				startService(v, ev.t)
				break
			}
		case abandon:
			vis := &visitors[ev.v]
			if vis.state != waiting {
				continue // served before its patience ran out
			}
			vis.state = abandoned
			nWaiting--
			res.Abandoned++
			online.ObserveWait(seconds(ev.t-vis.arrive), true)
		}
	}

	res.RMSE = map[string]time.Duration{}
	res.MeanError = map[string]time.Duration{}
	for k, name := range Predictors() {
		if res.Compared == 0 {
			res.RMSE[name], res.MeanError[name] = 0, 0
			continue
		}
		n := float64(res.Compared)
		res.RMSE[name] = seconds(math.Sqrt(sumSq[k] / n))
		res.MeanError[name] = seconds(sumErr[k] / n)
	}
	return res
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// WriteTable writes rs as a plain-text table, one row per scenario and
// predictor: RMSE and mean error in seconds (mean error is prediction minus
// actual), then the visitors served and abandoned and the number of served
// visitors who had to wait, on which the predictors were scored.
func WriteTable(w io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tpredictor\tRMSE (s)\tmean error (s)\tserved\tabandoned\tcompared\t")
	for _, r := range rs {
		for _, p := range Predictors() {
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%+.1f\t%d\t%d\t%d\t\n", r.Scenario, p,
				r.RMSE[p].Seconds(), r.MeanError[p].Seconds(), r.Served, r.Abandoned, r.Compared)
		}
	}
	tw.Flush()
}
