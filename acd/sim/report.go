package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"
)

// Summary is one scenario run with several seeds: each figure is the mean
// over the seeds, with the half-width of its 95% confidence interval
// (Student's t over the seeds' RMSEs).
type Summary struct {
	Scenario string   `json:"scenario"`
	Seeds    []uint64 `json:"seeds"`
	// Visitors simulated per seed.
	Visitors int `json:"visitors"`
	// Served scores the predictions on served visitors' waits, Potential
	// on abandoners' potential waits.
	Served    Scores `json:"served"`
	Potential Scores `json:"potential"`
}

// Scores are the three predictors' errors in seconds.
type Scores struct {
	RMSEEstimate float64 `json:"rmse_estimate"`
	RMSEQLTrue   float64 `json:"rmse_ql_true"`
	RMSEAsterisk float64 `json:"rmse_asterisk"`
	// CI95 is the half-width of each RMSE's 95% interval, by predictor
	// key (estimator, ql-true, asterisk).
	CI95 map[string]float64 `json:"ci95"`
	// MeanError is prediction minus actual, by predictor key.
	MeanError map[string]float64 `json:"mean_error"`
	// Visitors scored, over every seed.
	Compared int `json:"compared"`
	// Coverage is the share of them whose wait fell within the estimate's
	// 60% interval (mean over the seeds); served visitors only.
	Coverage float64 `json:"coverage_60,omitempty"`
}

// VsQLTrue and VsAsterisk are the estimate's RMSE as a share of the same
// predictor with the true rates, and of Asterisk's: the goals are at most
// 1.10 and 0.70.
func (s Scores) VsQLTrue() float64   { return s.RMSEEstimate / s.RMSEQLTrue }
func (s Scores) VsAsterisk() float64 { return s.RMSEEstimate / s.RMSEAsterisk }

// Summarize runs sc once per seed.
func Summarize(sc Scenario, seeds []uint64) Summary {
	sum := Summary{Scenario: sc.Name, Seeds: seeds, Visitors: sc.Visitors}
	var rs []Result
	for _, seed := range seeds {
		sc.Seed = seed
		if sc.ThroughService {
			rs = append(rs, RunService(sc))
		} else {
			rs = append(rs, Run(sc))
		}
	}
	sum.Served = scores(rs, func(r Result) (map[string]float64, map[string]float64, int) {
		return secondsOf(r.RMSE), secondsOf(r.MeanError), r.Compared
	})
	for _, r := range rs {
		sum.Served.Coverage += r.Coverage / float64(len(rs))
	}
	sum.Potential = scores(rs, func(r Result) (map[string]float64, map[string]float64, int) {
		return secondsOf(r.PotentialRMSE), secondsOf(r.PotentialMeanError), r.Potential
	})
	return sum
}

// scores averages what pick takes of each result over the seeds.
func scores(rs []Result, pick func(Result) (rmse, mean map[string]float64, n int)) Scores {
	s := Scores{CI95: map[string]float64{}, MeanError: map[string]float64{}}
	rmse := map[string]float64{}
	for _, p := range Predictors() {
		var xs []float64
		for _, r := range rs {
			e, m, n := pick(r)
			xs = append(xs, e[p])
			s.MeanError[p] += m[p] / float64(len(rs))
			if p == Estimator {
				s.Compared += n
			}
		}
		rmse[p], s.CI95[p] = meanCI(xs)
	}
	s.RMSEEstimate, s.RMSEQLTrue, s.RMSEAsterisk = rmse[Estimator], rmse[QLTrue], rmse[Asterisk]
	return s
}

// meanCI is the mean of xs and the half-width of its 95% interval.
func meanCI(xs []float64) (mean, half float64) {
	n := float64(len(xs))
	if n == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x / n
	}
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, studentT95(len(xs)-1) * math.Sqrt(ss/(n-1)/n)
}

// studentT95 is the two-sided 95% quantile of Student's t with df degrees
// of freedom.
func studentT95(df int) float64 {
	table := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 1.96
}

func secondsOf(m map[string]time.Duration) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v.Seconds()
	}
	return out
}

// Legend explains the table WriteTable prints.
const Legend = `estimator: the ACD's estimate, rates learnt online from a seed 30% off
ql-true:   the same queue-length predictor given the true rates
asterisk:  app_queue's announced hold time, (old*3 + new)/4 of answered callers
RMSE:      root mean square error of the prediction made on arrival, seconds,
           mean over the seeds ± the 95% interval's half-width;
           served: against the wait of visitors eventually served,
           potential: against the wait abandoners would have had
vs ql, vs asterisk: the estimator's RMSE over theirs (goals ≤ 1.10, ≤ 0.70)
in 60%:    share of served visitors whose wait fell within the estimate's
           60% interval (its 20th to 80th percentile); right when near 0.60`

// WriteTable writes the summaries as a plain-text table, one row per
// scenario and predictor, then Legend.
func WriteTable(w io.Writer, ss []Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tpredictor\tRMSE served (s)\t±95%\tmean error (s)\tRMSE potential (s)\t±95%\tvs ql\tvs asterisk\tin 60%\tcompared\t")
	for _, s := range ss {
		for _, p := range Predictors() {
			vsQL, vsAst, cover := "", "", ""
			if p == Estimator {
				vsQL = fmt.Sprintf("%.3f", s.Served.VsQLTrue())
				vsAst = fmt.Sprintf("%.3f", s.Served.VsAsterisk())
				cover = fmt.Sprintf("%.2f", s.Served.Coverage)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%+.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%d\t\n", s.Scenario, p,
				s.Served.rmse(p), s.Served.CI95[p], s.Served.MeanError[p],
				s.Potential.rmse(p), s.Potential.CI95[p], vsQL, vsAst, cover, s.Served.Compared)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", Legend)
}

func (s Scores) rmse(p string) float64 {
	return map[string]float64{Estimator: s.RMSEEstimate, QLTrue: s.RMSEQLTrue, Asterisk: s.RMSEAsterisk}[p]
}

// WriteJSON writes one JSON object per summary, one per line.
func WriteJSON(w io.Writer, ss []Summary) error {
	enc := json.NewEncoder(w)
	for _, s := range ss {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}
