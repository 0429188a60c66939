package acd

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// secs converts float seconds to a Duration for expectations.
func ewtSecs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func ewtNear(a, b time.Duration) bool {
	d := a - b
	return d > -time.Millisecond && d < time.Millisecond
}

func TestEstimator_WaitMatchesClosedForm(t *testing.T) {
	const sm10 = 10.0 / 240 // ten agents at a 4 minute handle time, per second
	const a3 = 1.0 / 180    // 3 minute patience
	tests := []struct {
		name     string
		handle   time.Duration
		patience time.Duration
		ahead    int
		serving  float64
		want     time.Duration
	}{
		// The answered visitor's own patience adds α to every stage.
		{"nobody ahead: one service completion", 4 * time.Minute, 3 * time.Minute, 0, 10, ewtSecs(1 / (sm10 + a3))},
		{"one ahead", 4 * time.Minute, 3 * time.Minute, 1, 10, ewtSecs(1/(sm10+a3) + 1/(sm10+2*a3))},
		{"three ahead", 4 * time.Minute, 3 * time.Minute, 3, 10,
			ewtSecs(1/(sm10+a3) + 1/(sm10+2*a3) + 1/(sm10+3*a3) + 1/(sm10+4*a3))},
		{"one agent", 4 * time.Minute, 3 * time.Minute, 2, 1,
			ewtSecs(1/(1.0/240+a3) + 1/(1.0/240+2*a3) + 1/(1.0/240+3*a3))},
		{"no agent serving counts as one", 4 * time.Minute, 3 * time.Minute, 0, 0, ewtSecs(1 / (1.0/240 + a3))},
		{"negative serving counts as one", 4 * time.Minute, 3 * time.Minute, 0, -3, ewtSecs(1 / (1.0/240 + a3))},
		{"negative ahead counts as none", 4 * time.Minute, 3 * time.Minute, -5, 10, ewtSecs(1 / (sm10 + a3))},
		{"part of an agent", 4 * time.Minute, 3 * time.Minute, 0, 0.5, ewtSecs(1 / (0.5/240 + a3))},
		// With patience far beyond the handle time the sum tends to (n+1)/(sμ).
		{"very patient visitors", time.Minute, 1000 * time.Hour, 9, 2, ewtSecs(10 * 30 * (1 - 5e-5))},
		// α = sμ: terms are 1/(sμ(2+i)), a harmonic number H_{n+2}−1 over sμ.
		{"alpha equals s·mu", 2 * time.Minute, time.Minute, 3, 2, ewtSecs(60 * (1.0/2 + 1.0/3 + 1.0/4 + 1.0/5))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEstimator(EstimatorConfig{HandleTime: tt.handle, Patience: tt.patience, Weight: 0.02})
			got := e.Wait(tt.ahead, tt.serving)
			tol := time.Millisecond
			if tt.name == "very patient visitors" {
				tol = 50 * time.Millisecond
			}
			if d := got - tt.want; d < -tol || d > tol {
				t.Errorf("Wait(%d, %g) = %v, want %v", tt.ahead, tt.serving, got, tt.want)
			}
		})
	}
}

func TestEstimator_WaitGrowsWithQueueAndShrinksWithAgents(t *testing.T) {
	e := NewEstimator(DefaultEstimatorConfig())
	for n := range 30 {
		if a, b := e.Wait(n, 5), e.Wait(n+1, 5); b <= a {
			t.Fatalf("Wait(%d,5)=%v, Wait(%d,5)=%v: not increasing", n, a, n+1, b)
		}
		if a, b := e.Wait(n, 5), e.Wait(n, 6); b >= a {
			t.Fatalf("Wait(%d,5)=%v, Wait(%d,6)=%v: not decreasing", n, a, n, b)
		}
	}
}

func TestEstimator_RatesStartAtSeed(t *testing.T) {
	e := NewEstimator(EstimatorConfig{HandleTime: 5 * time.Minute, Patience: 2 * time.Minute, Weight: 0.1})
	mu, alpha := e.Rates()
	if math.Abs(mu-1.0/300) > 1e-12 || math.Abs(alpha-1.0/120) > 1e-12 {
		t.Fatalf("Rates() = %g, %g; want %g, %g", mu, alpha, 1.0/300, 1.0/120)
	}
}

func TestEstimator_ObserveHandledIsEWMA(t *testing.T) {
	tests := []struct {
		name    string
		weight  float64
		observe []time.Duration
		want    float64 // average handle time, seconds
	}{
		{"one step", 0.25, []time.Duration{200 * time.Second}, 125},                      // 100 + 0.25·(200−100)
		{"two steps", 0.5, []time.Duration{200 * time.Second, 0, 50 * time.Second}, 100}, // 0 ignored: 150, then 100
		{"weight 1 takes the last", 1, []time.Duration{time.Minute, 7 * time.Second}, 7},
		{"weight 0 is frozen", 0, []time.Duration{time.Hour, time.Second}, 100},
		{"negative ignored", 0.5, []time.Duration{-time.Hour}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEstimator(EstimatorConfig{HandleTime: 100 * time.Second, Patience: time.Minute, Weight: tt.weight})
			for _, d := range tt.observe {
				e.ObserveHandled(d)
			}
			mu, _ := e.Rates()
			if math.Abs(1/mu-tt.want) > 1e-9 {
				t.Errorf("average handle time %g s, want %g s", 1/mu, tt.want)
			}
		})
	}
}

// Handle times as spread as lognormal CV 2 would make an EWMA of weight
// 0.02 wander ±20% around the mean; the estimator lengthens its memory by
// CV² so that it stays near the √(Weight/2) = 10% of exponential ones.
func TestEstimator_SpreadHandleTimesGetALongerMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const mean, cv = 240.0, 2.0
	s2 := math.Log(1 + cv*cv)
	e := NewEstimator(EstimatorConfig{HandleTime: mean * time.Second, Patience: time.Minute, Weight: 0.02})
	var n, sumSq float64
	for i := range 100_000 {
		h := math.Exp(math.Log(mean) - s2/2 + math.Sqrt(s2)*r.NormFloat64())
		e.ObserveHandled(time.Duration(h * float64(time.Second)))
		if i >= 5000 && i%50 == 0 {
			mu, _ := e.Rates()
			d := 1/(mu*mean) - 1
			n, sumSq = n+1, sumSq+d*d
		}
	}
	if noise := math.Sqrt(sumSq / n); noise > 0.13 {
		t.Errorf("average handle time wanders %.0f%% around the mean, want about 10%%", 100*noise)
	}
}

func TestEstimator_ObserveWaitIsAbandonsPerWaitingTime(t *testing.T) {
	t.Run("weight 1: last visitor only", func(t *testing.T) {
		e := NewEstimator(EstimatorConfig{HandleTime: time.Minute, Patience: time.Minute, Weight: 1})
		e.ObserveWait(30*time.Second, true)
		if _, a := e.Rates(); math.Abs(a-1.0/30) > 1e-12 {
			t.Errorf("alpha = %g, want 1/30", a)
		}
	})
	t.Run("ratio of the EWMAs, weighted by the abandonment share", func(t *testing.T) {
		// Seed: abandon share 0.1, mean wait 0.1·60 = 6 s. One served
		// visitor after 26 s with weight 0.5: the share falls to 0.05,
		// so the visitor weighs 0.5·0.05 = 0.025: abandons
		// 0.1·0.975 = 0.0975, wait 6 + 0.025·(26−6) = 6.5 s.
		e := NewEstimator(EstimatorConfig{HandleTime: time.Minute, Patience: time.Minute, Weight: 0.5})
		e.ObserveWait(26*time.Second, false)
		if _, a := e.Rates(); math.Abs(a-0.0975/6.5) > 1e-12 {
			t.Errorf("alpha = %g, want %g", a, 0.0975/6.5)
		}
	})
	// A stream of visitors whose patience has mean 3 minutes, each served
	// after an exponential wait of mean 2 minutes unless it gives up
	// first: α converges to 1/mean patience whether patience is
	// exponential or not (abandons ÷ waiting time would not for the
	// lognormal one).
	for _, tc := range []struct {
		name     string
		patience func(r *rand.Rand) float64
	}{
		{"exponential patience", func(r *rand.Rand) float64 { return 180 * r.ExpFloat64() }},
		{"lognormal patience CV 0.5", func(r *rand.Rand) float64 {
			s2 := math.Log(1.25)
			return math.Exp(math.Log(180) - s2/2 + math.Sqrt(s2)*r.NormFloat64())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			e := NewEstimator(EstimatorConfig{HandleTime: time.Minute, Patience: time.Minute, Weight: 0.0005})
			for range 60000 {
				p, served := tc.patience(r), 120*r.ExpFloat64()
				e.ObserveWait(time.Duration(min(p, served)*float64(time.Second)), p < served)
			}
			if _, a := e.Rates(); math.Abs(a*180-1) > 0.10 {
				t.Errorf("mean patience %.0f s, want about 180 s", 1/a)
			}
		})
	}
	t.Run("zero wait leaves alpha unchanged", func(t *testing.T) {
		e := NewEstimator(EstimatorConfig{HandleTime: time.Minute, Patience: time.Minute, Weight: 0.3})
		e.ObserveWait(45*time.Second, true)
		_, before := e.Rates()
		e.ObserveWait(0, false)
		e.ObserveWait(-time.Second, false)
		if _, after := e.Rates(); math.Abs(after-before) > 1e-15 {
			t.Errorf("alpha moved from %g to %g on zero waits", before, after)
		}
	})
}

func TestEstimator_LearnsFromSeed(t *testing.T) {
	// Seeded 30% off, the estimator reaches the observed rates.
	e := NewEstimator(EstimatorConfig{HandleTime: 312 * time.Second, Patience: 126 * time.Second, Weight: 0.05})
	for range 1000 {
		e.ObserveHandled(240 * time.Second)
		e.ObserveWait(180*time.Second, true) // every visitor waits 180 s and gives up
	}
	// Patience read from 10-second bins: abandons at 180 s count as in the
	// middle of their bin, 185 s.
	const sm, a = 10.0 / 240, 1.0 / 185
	if got := e.Wait(0, 10); !ewtNear(got, ewtSecs(1/(sm+a))) {
		t.Errorf("Wait(0, 10) = %v after learning, want %v", got, ewtSecs(1/(sm+a)))
	}
	if got := e.Wait(1, 10); !ewtNear(got, ewtSecs(1/(sm+a)+1/(sm+2*a))) {
		t.Errorf("Wait(1, 10) = %v", got)
	}
}

func TestEstimator_ConcurrentUse(t *testing.T) {
	e := NewEstimator(DefaultEstimatorConfig())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				e.ObserveHandled(time.Duration(i+g) * time.Second)
				e.ObserveWait(time.Duration(i)*time.Second, i%5 == 0)
				if e.Wait(i%20, 3) <= 0 {
					t.Error("non-positive wait")
					return
				}
				e.Rates()
			}
		})
	}
	wg.Wait()
}

func TestEstimatorConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*EstimatorConfig)
		want   string // error prefix; "" for valid
	}{
		{"default", func(*EstimatorConfig) {}, ""},
		{"weight 1", func(c *EstimatorConfig) { c.Weight = 1 }, ""},
		{"zero handle time", func(c *EstimatorConfig) { c.HandleTime = 0 }, "acd.ewt.handle_time: "},
		{"sub-second handle time", func(c *EstimatorConfig) { c.HandleTime = 500 * time.Millisecond }, "acd.ewt.handle_time: "},
		{"negative patience", func(c *EstimatorConfig) { c.Patience = -time.Minute }, "acd.ewt.patience: "},
		{"zero weight", func(c *EstimatorConfig) { c.Weight = 0 }, "acd.ewt.weight: "},
		{"weight above 1", func(c *EstimatorConfig) { c.Weight = 1.5 }, "acd.ewt.weight: "},
		{"NaN weight", func(c *EstimatorConfig) { c.Weight = math.NaN() }, "acd.ewt.weight: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultEstimatorConfig()
			tt.mutate(&c)
			err := c.Validate("acd.ewt")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func TestBandOf(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "under 1 minute"},
		{59 * time.Second, "under 1 minute"},
		{time.Minute, "1–3 minutes"},
		{3*time.Minute - 1, "1–3 minutes"},
		{3 * time.Minute, "3–5 minutes"},
		{5 * time.Minute, "over 5 minutes"},
		{10 * time.Hour, "over 5 minutes"},
	}
	for _, tt := range tests {
		if got := BandOf(tt.d, DefaultBands()); got != tt.want {
			t.Errorf("BandOf(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	bounded := []Band{{Below: time.Minute, Label: "soon"}, {Below: time.Hour, Label: "later"}}
	if got := BandOf(2*time.Hour, bounded); got != "later" {
		t.Errorf("beyond the last bound: %q, want the last label", got)
	}
	if got := BandOf(time.Second, nil); got != "" {
		t.Errorf("no bands: %q, want empty", got)
	}
}

func BenchmarkEstimator_Wait50(b *testing.B) {
	e := NewEstimator(DefaultEstimatorConfig())
	for b.Loop() {
		e.Wait(50, 10)
	}
}

// Wait is the mean, and the 60% interval the 20th to 80th percentile, of
// the wait of the visitors who are answered, checked against a sampled
// M/M/s+M queue: those ahead leave one by one, at s·μ (an agent frees up)
// plus α for each of them (one gives up), while the visitor's own
// patience may run out first. Exact for one stage, close for many.
func TestEstimator_IntervalIsTheWaitsPercentiles(t *testing.T) {
	e := NewEstimator(EstimatorConfig{HandleTime: 4 * time.Minute, Patience: 3 * time.Minute, Weight: 0})
	r := rand.New(rand.NewPCG(3, 4))
	for _, ahead := range []int{0, 3, 20} {
		lo, hi := e.Interval(ahead, 10)
		var xs []float64
		sum := 0.0
		for len(xs) < 20000 {
			s, patience := 0.0, 180*r.ExpFloat64()
			for i := ahead; i >= 0; i-- {
				s += r.ExpFloat64() / (10.0/240 + float64(i)/180)
			}
			if s < patience {
				xs, sum = append(xs, s), sum+s
			}
		}
		if mean := sum / float64(len(xs)); math.Abs(e.Wait(ahead, 10).Seconds()/mean-1) > 0.02 {
			t.Errorf("%d ahead: Wait %v, sampled mean %.1f s", ahead, e.Wait(ahead, 10), mean)
		}
		slices.Sort(xs)
		for _, c := range []struct {
			got  time.Duration
			want float64
		}{{lo, xs[4000]}, {hi, xs[16000]}} {
			if math.Abs(c.got.Seconds()/c.want-1) > 0.05 {
				t.Errorf("%d ahead: percentile %.1f s, sampled %.1f s", ahead, c.got.Seconds(), c.want)
			}
		}
	}
}
