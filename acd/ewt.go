package acd

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Estimated waiting time.
//
// A newly arriving visitor with n visitors ahead of it in a skill group's
// queue and s agents serving that group is told the queue-length predictor
// with abandonment (Whitt 1999; Ibrahim & Whitt 2009, "QL with
// abandonment") for a visitor who is answered:
//
//	EWT(n, s) = Σ_{i=0..n} 1/(s·μ + (i+1)·α)
//
// where μ is the service rate of one agent (1/average handle time) and α the
// abandonment rate of one waiting visitor (1/average patience). The visitor
// reaches an agent after n+1 departures from the positions ahead of it; while
// i visitors are still ahead, the next departure comes at rate s·μ (an agent
// frees up) plus i·α (one of them gives up), and the visitor's own patience
// runs out at rate α: given that it lasts, each stage ends at the sum of
// the three rates. Without the last α (Σ 1/(s·μ + i·α)) the sum is the
// wait of a visitor who would wait for ever, a figure nobody can check:
// the waits a contact centre sees are those of the visitors it answered,
// and against them that figure is 3 to 18 s too long on average in every
// acd/sim scenario, where this one is within ±3 s (±8 s for a group of a
// lower priority sharing its agents). The price is 5–8% more error
// against the wait the abandoners would have had.
//
// μ and α are learnt online as exponentially weighted moving averages
// (EWMAs), seeded from configuration so that the first visitors of a new
// group get a sensible answer. α is one over the mean patience, and the
// mean patience is read from the patience distribution itself (an
// actuarial, Kaplan–Meier style estimate over 10-second bins of the waits,
// the served ones censored): abandons ÷ total waiting time would be its
// maximum-likelihood estimate only if patience were exponential, and real
// patience rarely is (simulated with a lognormal patience of CV 0.5, that
// ratio put the estimate 20% behind the true rates, this one 2–4%).
//
// Each memory is as long as its data need for the same noise. The mean
// of n handle times of coefficient of variation CV is off by CV/√n, so
// the handle time's EWMA weight is Weight/CV² (CV² read off the recent
// handle times, between 1 and 16): lognormal handle times of CV 2 get
// four times the memory of exponential ones. The patience is learnt from
// abandons, so a visitor weighs Weight times the abandonment share (at
// least 5%): the memory holds about as many abandons as the handle
// time's holds calls. Simulated (acd/sim), the two cut the estimate's
// excess error over the true rates from 4–8% to 1.5–3.5% where handle
// times or patience are not exponential.

// EstimatorConfig seeds and tunes an Estimator.
type EstimatorConfig struct {
	// HandleTime seeds the average handle time of one visitor (talk plus
	// wrap-up), e.g. 4m; μ starts at 1/HandleTime.
	HandleTime time.Duration `yaml:"handle_time"`
	// Patience seeds the average time a visitor waits before abandoning,
	// e.g. 3m; α starts at 1/Patience.
	Patience time.Duration `yaml:"patience"`
	// Weight is the EWMA weight of one new observation, in (0, 1], e.g.
	// 0.02: the estimates follow roughly the last 2/Weight calls (times
	// CV² for handle times more spread than exponential ones) and the
	// last 2/Weight abandons. Smaller is steadier, larger follows changes
	// faster. The estimate of the average handle time carries a relative
	// noise of about √(Weight/2): 10% at 0.02, 16% at 0.05, and that
	// noise goes straight into every prediction.
	Weight float64 `yaml:"weight"`
}

// DefaultEstimatorConfig returns a 4 minute handle time, a 3 minute patience
// and a weight of 0.02 (about 100 calls of memory: some 40 minutes of
// traffic for a ten-agent group with exponential handle times). In the
// acd/sim scenarios, 0.02 makes predictions 1.5–3.5% worse than with the
// true rates.
func DefaultEstimatorConfig() EstimatorConfig {
	return EstimatorConfig{
		HandleTime: 4 * time.Minute,
		Patience:   3 * time.Minute,
		Weight:     0.02,
	}
}

// Validate names the first bad field, prefixed by prefix (e.g. "acd.ewt").
func (c EstimatorConfig) Validate(prefix string) error {
	if c.HandleTime < time.Second {
		return fmt.Errorf("%s.handle_time: %s must be at least 1s", prefix, c.HandleTime)
	}
	if c.Patience < time.Second {
		return fmt.Errorf("%s.patience: %s must be at least 1s", prefix, c.Patience)
	}
	if !(c.Weight > 0 && c.Weight <= 1) { // also rejects NaN
		return fmt.Errorf("%s.weight: %v must lie in (0, 1]", prefix, c.Weight)
	}
	return nil
}

// The patience histogram: bins of patienceBin seconds up to
// patienceBins·patienceBin (30 minutes); a bin is read once it holds the
// weight of minBinObservations visitors.
const (
	patienceBin        = 10.0
	patienceBins       = 180
	minBinObservations = 5
)

// seedAbandonShare is the abandonment share of the pseudo-history the α
// estimate starts from. Any value gives α = 1/Patience at the start (the
// seeded mean wait is seedAbandonShare·Patience); a typical share lets real
// observations take over at the pace they would in a real stream.
const seedAbandonShare = 0.1

// maxSpread bounds the CV² by which the handle time's memory grows, and
// minShare the abandonment share by which the patience's does.
const (
	maxSpread = 16
	minShare  = 0.05
)

// Estimator learns a skill group's service and abandonment rates from what
// happens to its visitors and predicts the wait of the next one. It is safe
// for concurrent use.
type Estimator struct {
	mu     sync.Mutex
	weight float64
	// handle is the average handle time the predictions use, seconds: an
	// EWMA whose weight is weight/CV², CV² read off quick and quickSq,
	// EWMAs of weight weight of the handle time and of its square.
	handle, quick, quickSq float64
	// share is the EWMA, of weight weight, of the abandoned indicator (0
	// or 1). abandon and waited, EWMAs of the same indicator and of the
	// time spent waiting, and the histogram have the weight
	// weight·share: a memory counted in abandons.
	share, abandon, waited float64
	// arrivals is the arrival rate, per second, as of lastArrival: each
	// arrival adds 1/arrivalMemory, and the sum decays by e every
	// arrivalMemory.
	arrivals    float64
	lastArrival time.Time
	// risk and gone are, per patience bin, the EWMA weight of visitors
	// still waiting at its start (the served one counted for the part of
	// the bin it waited) and of those who abandoned within it.
	risk, gone [patienceBins]float64
}

// NewEstimator returns an Estimator seeded from c. It does not validate c;
// callers validate configuration on load. A Weight of 0 is accepted and
// freezes the estimator at its seed: it then predicts with exactly the
// configured rates, which is what a simulation uses as "the truth".
// Non-positive HandleTime or Patience are taken as 1s.
func NewEstimator(c EstimatorConfig) *Estimator {
	handle := max(c.HandleTime.Seconds(), 1)
	patience := max(c.Patience.Seconds(), 1)
	w := c.Weight
	if !(w >= 0) { // NaN
		w = 0
	}
	return &Estimator{
		weight:  min(w, 1),
		handle:  handle,
		quick:   handle,
		quickSq: 2 * handle * handle, // as if exponential: CV 1
		share:   seedAbandonShare,
		abandon: seedAbandonShare,
		waited:  seedAbandonShare * patience,
	}
}

// arrivalMemory is the time constant of the arrival rate's decay.
const arrivalMemory = 15 * time.Minute

// ObserveArrival records a visitor who joined the queue at at.
func (e *Estimator) ObserveArrival(at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if at.After(e.lastArrival) {
		e.arrivals = e.arrivalRate(at)
		e.lastArrival = at
	}
	e.arrivals += math.Exp(-e.lastArrival.Sub(at).Seconds()/arrivalMemory.Seconds()) / arrivalMemory.Seconds()
}

// arrivalRate is the arrival rate at now, per second.
func (e *Estimator) arrivalRate(now time.Time) float64 {
	return e.arrivals * math.Exp(-max(now.Sub(e.lastArrival).Seconds(), 0)/arrivalMemory.Seconds())
}

// Load is the traffic the group's agents will answer, in agents kept busy
// (Erlangs): the arrival rate of the last quarter of an hour or so, less
// the visitors who give up, times the average handle time.
func (e *Estimator) Load(now time.Time) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.arrivalRate(now) * (1 - e.share) * e.handle
}

// ObserveHandled records one finished service of the given handle time and
// updates μ. Non-positive durations are ignored.
func (e *Estimator) ObserveHandled(handle time.Duration) {
	if handle <= 0 {
		return
	}
	h := handle.Seconds()
	e.mu.Lock()
	e.quick += e.weight * (h - e.quick)
	e.quickSq += e.weight * (h*h - e.quickSq)
	cv2 := e.quickSq/(e.quick*e.quick) - 1
	e.handle += e.weight / min(max(cv2, 1), maxSpread) * (h - e.handle)
	e.mu.Unlock()
}

// ObserveWait records a visitor who left the queue, either to an agent
// (abandoned false) or by hanging up (abandoned true), after waiting for
// waited, and updates α.
//
// With exponential patience the maximum-likelihood estimate of α is the
// number of abandons divided by the total time visitors spent waiting (served
// and abandoned alike: a served visitor's wait is a censored patience). The
// Estimator keeps both as EWMAs, so α̂ = ewma(abandoned ? 1 : 0) /
// ewma(waited). A visitor connected without waiting may be reported with
// waited 0: it changes neither the abandons nor the waiting time, so α̂ is
// unchanged (it only ages the history). Negative waits count as 0.
func (e *Estimator) ObserveWait(waited time.Duration, abandoned bool) {
	x := 0.0
	if abandoned {
		x = 1
	}
	s := max(waited.Seconds(), 0)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.share += e.weight * (x - e.share)
	w := e.patienceWeight()
	e.abandon += w * (x - e.abandon)
	e.waited += w * (s - e.waited)
	if w == 0 {
		return
	}
	keep := 1 - w
	for i := range e.risk {
		e.risk[i] *= keep
		e.gone[i] *= keep
	}
	k := int(s / patienceBin)
	for i := range min(k, patienceBins) {
		e.risk[i] += w
	}
	if k < patienceBins {
		if abandoned {
			e.risk[k] += w
			e.gone[k] += w
		} else {
			e.risk[k] += w * (s - float64(k)*patienceBin) / patienceBin
		}
	}
}

// patienceWeight is the weight of one visitor in the patience estimate:
// weight times the abandonment share, not below minShare of weight.
func (e *Estimator) patienceWeight() float64 {
	return e.weight * min(max(e.share, minShare), 1)
}

// meanPatience reads the mean patience off the histogram: the survival
// curve bin by bin while bins hold enough visitors, and past them an
// exponential tail at the hazard of the last of those bins (patience
// whose hazard rises keeps rising), or at abandons ÷ waiting time when no
// bin holds enough.
func (e *Estimator) meanPatience() float64 {
	tail := math.Inf(1) // no abandon seen: α is 0
	if e.abandon > 0 {
		tail = e.waited / e.abandon // 1/α of the exponential estimate
	}
	survive, mean := 1.0, 0.0
	var risk, gone float64 // of the last tailBins bins read
	const tailBins = 6
	n := 0
	for i := range e.risk {
		if w := e.patienceWeight(); w == 0 || e.risk[i] < minBinObservations*w {
			break
		}
		h := min(e.gone[i]/e.risk[i], 1)
		mean += patienceBin * survive * (1 - h/2)
		survive *= 1 - h
		n = i + 1
	}
	for i := max(n-tailBins, 0); i < n; i++ {
		risk, gone = risk+e.risk[i], gone+e.gone[i]
	}
	if gone > 0 {
		tail = patienceBin * risk / gone
	}
	return mean + survive*tail
}

// Rates returns the current estimates of μ (services per second per agent)
// and α (abandons per second per waiting visitor).
func (e *Estimator) Rates() (mu, alpha float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rates()
}

func (e *Estimator) rates() (mu, alpha float64) {
	mu = 1 / e.handle
	if p := e.meanPatience(); p > 0 {
		alpha = 1 / p // 0 for an infinite patience
	}
	return mu, alpha
}

// Wait predicts the wait of a visitor joining the queue behind ahead
// visitors while agents serve the group, if it is answered:
// Σ_{i=0..ahead} 1/(agents·μ + (i+1)·α). agents may be fractional: agents who also serve groups of a
// higher priority count for the part of their time those leave.
//
// ahead < 0 is taken as 0. agents ≤ 0 is taken as 1: with no agent serving
// the formula has no finite answer, and a visitor who is queued while the
// group is unstaffed is best told the wait it will see once the first agent
// arrives, rather than "forever"; routing decides separately whether such a
// visitor should be queued at all.
func (e *Estimator) Wait(ahead int, agents float64) time.Duration {
	e.mu.Lock()
	mu, alpha := e.rates()
	e.mu.Unlock()
	return queueLengthWait(ahead, agents, mu, alpha)
}

// Interval is the range in which the wait Wait predicts falls with 60%
// probability: its 20th and 80th percentiles. The wait is the sum of
// ahead+1 exponential stages of rates agents·μ + (i+1)·α; its percentiles
// are those of the gamma distribution with the same mean and variance
// (Wilson–Hilferty), exact for a single stage up to a few percent.
func (e *Estimator) Interval(ahead int, agents float64) (lo, hi time.Duration) {
	e.mu.Lock()
	mu, alpha := e.rates()
	e.mu.Unlock()
	return queueLengthInterval(ahead, agents, mu, alpha)
}

// z80 is the standard normal's 80th percentile.
const z80 = 0.8416212335729143

func queueLengthInterval(ahead int, agents, mu, alpha float64) (lo, hi time.Duration) {
	mean, variance := queueLengthStages(ahead, agents, mu, alpha)
	k := mean * mean / variance // gamma shape; the scale is mean/k
	quantile := func(z float64) time.Duration {
		c := 1 - 1/(9*k) + z*math.Sqrt(1/(9*k))
		sec := mean * max(c, 0) * max(c, 0) * max(c, 0)
		return time.Duration(min(sec, math.MaxInt64/float64(time.Second)) * float64(time.Second))
	}
	return quantile(-z80), quantile(z80)
}

// queueLengthWait is the QL-with-abandonment predictor for given rates.
func queueLengthWait(ahead int, agents, mu, alpha float64) time.Duration {
	sec, _ := queueLengthStages(ahead, agents, mu, alpha)
	if sec >= math.MaxInt64/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(sec * float64(time.Second))
}

// queueLengthStages is the mean and variance, in seconds, of the wait of
// an answered visitor: the sum of ahead+1 exponential stages of rates
// agents·μ + (i+1)·α.
func queueLengthStages(ahead int, agents, mu, alpha float64) (mean, variance float64) {
	sm := capacity(agents) * mu
	for i := range max(ahead, 0) + 1 {
		r := sm + float64(i+1)*alpha
		mean += 1 / r
		variance += 1 / (r * r)
	}
	return mean, variance
}

// capacity is the agents a prediction counts on: 1 when none (or NaN).
func capacity(agents float64) float64 {
	if !(agents > 0) {
		return 1
	}
	return agents
}

// Band is one range of waits shown to visitors as a label instead of a
// number: a wait falls in the first band whose Below it is under. A Below of
// 0 makes the band open-ended; it belongs last.
type Band struct {
	// Below is the band's exclusive upper bound, 0 for no bound.
	Below time.Duration `yaml:"below"`
	// Label is what visitors see, e.g. "1–3 minutes".
	Label string `yaml:"label"`
}

// DefaultBands returns under 1 minute, 1–3 minutes, 3–5 minutes and over 5
// minutes.
func DefaultBands() []Band {
	return []Band{
		{Below: time.Minute, Label: "under 1 minute"},
		{Below: 3 * time.Minute, Label: "1–3 minutes"},
		{Below: 5 * time.Minute, Label: "3–5 minutes"},
		{Below: 0, Label: "over 5 minutes"},
	}
}

// BandOf returns the label of the first band d falls in: the first whose
// Below is 0 or greater than d. If no band matches (the last band has a
// bound and d is beyond it) it returns the last band's label, and "" when
// bands is empty.
func BandOf(d time.Duration, bands []Band) string {
	for _, b := range bands {
		if b.Below == 0 || d < b.Below {
			return b.Label
		}
	}
	if len(bands) == 0 {
		return ""
	}
	return bands[len(bands)-1].Label
}
