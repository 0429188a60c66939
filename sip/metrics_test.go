package sip

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard/switchboard/internal/siptest"
)

// A SUBSCRIBE's answer is timed under its method, and the NOTIFY it
// brings once its watcher answers.
func TestMetrics_RequestAndNotifyLatency(t *testing.T) {
	st := newStack(t, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(st.srv.metrics.latency, st.srv.metrics.notifyLatency)
	w := siptest.NewPeer(t)
	if res := subscribe(w, st, alice, "Event: presence", "Accept: application/pidf+xml"); res.StatusCode != 202 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	w.NextNotify()
	siptest.WaitFor(t, "the NOTIFY's answer timed", func() bool {
		return samples(t, reg, "switchboard_sip_notify_duration_seconds", "") == 1
	})
	if n := samples(t, reg, "switchboard_sip_request_duration_seconds", "SUBSCRIBE"); n != 1 {
		t.Errorf("%d SUBSCRIBEs timed, want 1", n)
	}
}

// samples returns the sample count of histogram name, of the series whose
// method label is method ("" for none).
func samples(t *testing.T, reg *prometheus.Registry, name, method string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "method") == method {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
