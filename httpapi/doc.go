// Package httpapi is Switchboard's HTTP facade, on Hertz. For now it serves
// operations endpoints: Prometheus metrics on /metrics, liveness on /healthz
// and readiness on /readyz. The availability API and the widget come with
// the web role.
package httpapi
