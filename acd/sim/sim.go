// Package sim is a seeded discrete-event simulation of a call centre queue,
// used to check the acd package's estimated waiting time against the truth
// and against what Asterisk's app_queue announces. Run simulates the
// queue with the estimator alone; RunService (service.go) drives the real
// acd.Service on a virtual clock (acd.WithClock), its routing and its
// estimate as the product shows them. Summarize runs several seeds and
// report.go prints the table or JSON.
//
// The model is M/G/s+G, M/M/s+M (Erlang-A) by default: Poisson arrivals
// (possibly with a time-varying rate), handle times and patience drawn from
// exponential or lognormal distributions of given mean and coefficient of
// variation (Dist), s identical agents (possibly varying over time,
// Staffing), one FIFO queue: a waiting visitor whose patience runs out
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
// literature (Whitt 1999; Ibrahim & Whitt 2009), and separately against the
// potential wait of those who abandon: the wait they would have had with
// infinite patience, everyone else behaving as they did. In a FIFO queue
// it is known once everyone ahead has gone: the first moment after that an
// agent frees up. Visitors answered on arrival are left out: the ACD
// announces nothing to them.
package sim

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
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
	// Agents serving the group; all of them stay for the whole run unless
	// Staffing says otherwise.
	Agents int
	// Staffing, when set, is the number of agents at time t since the
	// start (at most Agents): a visitor is picked up only while fewer
	// are serving; one on a call finishes it.
	Staffing func(t time.Duration) int
	// HandleTime and Patience are the true means of the handle time and
	// patience, drawn from Service and Impatience.
	HandleTime, Patience time.Duration
	Service, Impatience  Dist
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
	// ThroughService runs the scenario through the real acd.Service
	// (RunService) rather than the formula alone (Run), with Groups skill
	// groups sharing every agent (1 when 0) and WrapUp after each call.
	ThroughService bool
	Groups         int
	WrapUp         time.Duration
	// NoAnswer is the share of rings an agent lets go unanswered (they
	// ring 20 s, then the agent is skipped for acd.ring_skip); through
	// the service only.
	NoAnswer float64
	// EstimatorSeed configures the online estimator under test.
	EstimatorSeed acd.EstimatorConfig
}

// Dist is the shape of a distribution whose mean the scenario gives:
// exponential (the zero value), or lognormal with coefficient of
// variation CV.
type Dist struct {
	Lognormal bool
	CV        float64
}

// draw returns a value of mean m.
func (d Dist) draw(rng *rand.Rand, m float64) float64 {
	if !d.Lognormal {
		return rng.ExpFloat64() * m
	}
	s2 := math.Log(1 + d.CV*d.CV)
	return math.Exp(math.Log(m) - s2/2 + math.Sqrt(s2)*rng.NormFloat64())
}

// String names the shape, e.g. "lognormal CV 2".
func (d Dist) String() string {
	if !d.Lognormal {
		return "exponential"
	}
	return fmt.Sprintf("lognormal CV %g", d.CV)
}

// Result summarises one run. Errors are prediction minus actual wait, over
// the visitors who found every agent busy and were eventually served, and
// prediction minus potential wait over those who abandoned.
type Result struct {
	Scenario string
	Seed     uint64
	// Served and Abandoned count all visitors; Served includes those
	// answered on arrival.
	Served, Abandoned int
	// Compared is the number of served visitors the predictions were
	// scored on, Potential the number of abandoners.
	Compared, Potential int
	// RMSE and MeanError per predictor key (Estimator, QLTrue, Asterisk),
	// on served visitors; PotentialRMSE and PotentialMeanError on the
	// abandoners' potential waits. A positive mean error is an
	// overestimate.
	RMSE, MeanError                   map[string]time.Duration
	PotentialRMSE, PotentialMeanError map[string]time.Duration
	// Coverage is the share of the served visitors scored whose wait fell
	// within the estimate's 60% interval (Estimator.Interval): 0.6 when
	// the interval is right.
	Coverage float64
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
	lo, hi float64 // the estimate's 60% interval
}

// Event kinds. Arrivals are not events in the heap: Run keeps the next one
// aside.
const (
	departure = iota // an agent finishes a service
	abandon          // a waiting visitor's patience runs out
	staffing         // time to look at a changing staffing again
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
	capacity := func(t float64) int {
		if sc.Staffing == nil {
			return sc.Agents
		}
		return min(sc.Agents, max(sc.Staffing(seconds(t)), 0))
	}

	online := acd.NewEstimator(sc.EstimatorSeed)
	truth := acd.NewEstimator(acd.EstimatorConfig{HandleTime: sc.HandleTime, Patience: sc.Patience, Weight: 0})
	var holdtime float64 // Asterisk's queue holdtime, seconds

	var ofServed, ofAbandoned score // errors on served visitors' waits, on abandoners' potential waits
	res := Result{Scenario: sc.Name, Seed: sc.Seed}

	visitors := make([]visitor, 0, sc.Visitors)
	queue := make([]int32, 0, sc.Visitors) // FIFO; queue[head:] may hold abandoned visitors
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
			ofServed.add(vis.pred, w)
			ofServed.cover(vis.lo, vis.hi, w)
		}
		busy++
		d := sc.Service.draw(rng, meanHandle)
		heap.Push(&h, event{t: t + d, kind: departure, d: d})
	}

	// pickUp gives free agents at time t the visitors at the head of the
	// queue. An abandoned visitor met there would have been picked up
	// now: its potential wait is scored, and it takes no agent.
	pickUp := func(t float64) {
		for head < len(queue) && busy < capacity(t) {
			v := int(queue[head])
			head++
			vis := &visitors[v]
			if vis.state == abandoned {
				ofAbandoned.add(vis.pred, t-vis.arrive)
				continue
			}
			nWaiting--
			online.ObserveWait(seconds(t-vis.arrive), false)
			startService(v, t)
		}
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
	if sc.Staffing != nil {
		heap.Push(&h, event{t: staffTick, kind: staffing})
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
			if busy < capacity(t) && nWaiting == 0 {
				// Answered at once: the ACD reports a zero wait.
				online.ObserveWait(0, false)
				startService(v, t)
				continue
			}
			vis := &visitors[v]
			vis.scored = true
			// Serving as the ACD counts them: agents on a call, also those
			// who will leave once it ends (Staffing), or the staff.
			serving := float64(max(capacity(t), busy, 1))
			lo, hi := online.Interval(nWaiting, serving)
			vis.lo, vis.hi = lo.Seconds(), hi.Seconds()
			vis.pred = [3]float64{
				online.Wait(nWaiting, serving).Seconds(),
				truth.Wait(nWaiting, serving).Seconds(),
				holdtime,
			}
			queue = append(queue, int32(v))
			nWaiting++
			heap.Push(&h, event{t: t + sc.Impatience.draw(rng, meanPatience), kind: abandon, v: int32(v)})
			continue
		}
		ev := heap.Pop(&h).(event)
		switch ev.kind {
		case departure:
			busy--
			online.ObserveHandled(seconds(ev.d))
			pickUp(ev.t)
		case staffing:
			pickUp(ev.t)
			if !math.IsInf(arrival, 1) || nWaiting > 0 {
				heap.Push(&h, event{t: ev.t + staffTick, kind: staffing})
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
	res.scored(&ofServed, &ofAbandoned)
	return res
}

// scored fills in r's errors and coverage from the scores of served
// visitors and of abandoners' potential waits.
func (r *Result) scored(served, abandoned *score) {
	r.Compared, r.Potential = served.n, abandoned.n
	if served.n > 0 {
		r.Coverage = float64(served.covered) / float64(served.n)
	}
	r.RMSE, r.MeanError = served.summary()
	r.PotentialRMSE, r.PotentialMeanError = abandoned.summary()
}

// staffTick is how often a changing staffing is looked at.
const staffTick = 60.0 // seconds

// score sums the errors of the three predictors over n visitors, and how
// many of them waited within the estimate's 60% interval.
type score struct {
	n          int
	sum, sumSq [3]float64
	covered    int
}

func (s *score) cover(lo, hi, actual float64) {
	if lo <= actual && actual <= hi {
		s.covered++
	}
}

func (s *score) add(pred [3]float64, actual float64) {
	for k, p := range pred {
		e := p - actual
		s.sum[k] += e
		s.sumSq[k] += e * e
	}
	s.n++
}

// summary is the RMSE and mean error per predictor key.
func (s *score) summary() (rmse, mean map[string]time.Duration) {
	rmse, mean = map[string]time.Duration{}, map[string]time.Duration{}
	for k, name := range Predictors() {
		if s.n == 0 {
			rmse[name], mean[name] = 0, 0
			continue
		}
		n := float64(s.n)
		rmse[name] = seconds(math.Sqrt(s.sumSq[k] / n))
		mean[name] = seconds(s.sum[k] / n)
	}
	return rmse, mean
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
