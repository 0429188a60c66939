// Package acd is the customer support server's domain: agents, skill groups,
// queues, routing and estimated waiting time. It imports no transport
// package; adapters in sip/ and httpapi/ drive it through small interfaces.
//
// It is still empty: the presence server comes first.
package acd
