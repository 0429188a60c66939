// Package refused counts the requests refused by a limit, for every adapter
// (switchboard_refused_total{limit}).
package refused

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter returns the counter of requests refused by a limit, labelled by
// the limit's configuration key ("callbacks.per_ip",
// "presence.max_publications"), registered on reg once however many
// adapters ask; nil reg leaves it unregistered.
func Counter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_refused_total",
		Help: "Requests refused by a limit, by the limit's configuration key."}, []string{"limit"})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			return already.ExistingCollector.(*prometheus.CounterVec)
		}
		panic(err) // a clash of names between our own metrics: a bug
	}
	return c
}
