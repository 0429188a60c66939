package sip

import (
	"strconv"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/refused"
)

// metrics counts what the adapter sees on the wire.
type metrics struct {
	requests *prometheus.CounterVec // by method and final status
	notifies *prometheus.CounterVec // by result: sent, failed, gone
	dials    *prometheus.CounterVec // agent legs by result: answered, refused, failed
	refused  *prometheus.CounterVec // requests refused by a limit, by its key
	// latency times requests from their handler's start to the final
	// answer, by method; notifyLatency times NOTIFYs from sent to
	// their final answer.
	latency       *prometheus.HistogramVec
	notifyLatency prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_requests_total",
			Help: "SIP requests answered, by method and status code.",
		}, []string{"method", "status"}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_notifies_total",
			Help: "NOTIFY requests sent, by result: sent (2xx), gone (481 or no answer), failed (other).",
		}, []string{"result"}),
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_agent_dials_total",
			Help: "INVITEs to agents' phones, by result: answered, refused (a final non-2xx), failed (timeout, cancelled, transport).",
		}, []string{"result"}),
		refused: refused.Counter(reg),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_sip_request_duration_seconds",
			Help: "From a SIP request's handler starting to its final answer sent, by method " +
				"(an INVITE's includes the ringing; refusals before parsing are not timed).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		notifyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_sip_notify_duration_seconds",
			Help:    "From a NOTIFY sent to its final answer, retransmissions included; NOTIFYs never answered are not timed.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32},
		}),
	}
	for _, r := range []string{"sent", "failed", "gone"} {
		m.notifies.WithLabelValues(r) // a series for each from the start, 0 until counted
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.notifies, m.dials, m.latency, m.notifyLatency)
	}
	return m
}

// answered counts a final answer; methods nobody defined share the label
// "other", so that peers cannot grow the series without bound.
func (m *metrics) answered(method sipmsg.RequestMethod, status int) {
	m.requests.WithLabelValues(methodLabel(method), strconv.Itoa(status)).Inc()
}

// took times a request answered d after its handler started.
func (m *metrics) took(method sipmsg.RequestMethod, d time.Duration) {
	m.latency.WithLabelValues(methodLabel(method)).Observe(d.Seconds())
}

func methodLabel(method sipmsg.RequestMethod) string {
	if !knownMethod(method) {
		return "other"
	}
	return string(method)
}
