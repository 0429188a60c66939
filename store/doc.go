// Package store keeps Switchboard's state in one bbolt file: presence
// publications and subscriptions, and registrar bindings.
//
// Writes go through bbolt's Batch, so concurrent writers share one commit
// and one fsync; every write method returns only once its commit is
// durable. A batched function may run more than once, so each one here is
// idempotent. Reads at start-up walk a bucket once; the domains answer later
// reads from memory.
//
// Records are JSON objects with a version field "v", so a later release can
// read what an earlier one wrote.
package store
