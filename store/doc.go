// Package store keeps Switchboard's state in one bbolt file: presence
// publications and subscriptions, registrar bindings, agents' states and
// their transitions, ACD settings, callbacks, and the certificates, keys
// and ACME account that tlscert obtains (tlsfiles.go, bucket tls_files,
// when tls.acme.storage is "store").
//
// Writes go through bbolt's Batch, so concurrent writers share one commit
// and one fsync; every write method returns only once its commit is
// durable. A batched function may run more than once, so each one here is
// idempotent. Reads at start-up walk a bucket once; the domains answer later
// reads from memory.
//
// Presence publications and subscriptions, the records there are millions
// of, are written in a compact binary form that start-up decodes without
// reflection (record.go; 1M presentities and subscriptions load in about
// 5 s instead of 30); their JSON from earlier releases is still read. The
// other records are JSON objects, most with a version field "v", so a
// later release can read what an earlier one wrote.
package store
