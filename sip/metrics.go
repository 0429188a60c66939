package sip

import (
	"strconv"

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
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.notifies, m.dials)
	}
	return m
}

// answered counts a final answer; methods nobody defined share the label
// "other", so that peers cannot grow the series without bound.
func (m *metrics) answered(method sipmsg.RequestMethod, status int) {
	label := string(method)
	if !knownMethod(method) {
		label = "other"
	}
	m.requests.WithLabelValues(label, strconv.Itoa(status)).Inc()
}
