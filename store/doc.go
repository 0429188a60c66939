// Package store keeps Switchboard's state in one bbolt file. Its buckets:
//
//	publications       presence publications, "<presentity>\x00<etag>" (presence.go, binary records)
//	subscriptions      presence and dialog-event subscriptions by id (presence.go, binary records)
//	bindings           the registrar's bindings of each address-of-record (bindings.go)
//	agent_states       each agent's last state transition (acd.go)
//	agent_transitions  every agent state transition, "<agent>\x00<time>" (acd.go; pruned by retention)
//	settings           generated secrets, such as the visitor cookie key (settings.go)
//	callbacks          visitors' callback requests by id (callbacks.go; finished ones pruned by retention)
//	meta               the schema version, "schema_version" (schema.go)
//	tls_files          certificates, keys and the ACME account tlscert obtains (tlsfiles.go; when tls.acme.storage is "store")
//
// Writes go through bbolt's Batch, so concurrent writers share one commit
// and one fsync; every write method returns only once its commit is
// durable. A batched function may run more than once, so each one here is
// idempotent. Reads at start-up walk a bucket once; the domains answer later
// reads from memory. metrics.go measures the group commit (writes per
// commit, commit and write latency) for the process's /metrics.
//
// Presence publications and subscriptions, the records there are millions
// of, are written in a compact binary form that start-up decodes without
// reflection (record.go; 1M presentities and subscriptions load in about
// 5 s instead of 30), led by a format byte; their JSON from earlier
// releases is still read; store/natsstore writes the same records
// (EncodePublication, EncodeSubscription) to JetStream when presence
// lives there (store.driver nats). The other records are JSON objects with a
// version field "v", so a later release can read what an earlier one
// wrote (agent states, transitions and callbacks got theirs in schema 1);
// natsstore writes those too (EncodeBindings, EncodeTransition,
// EncodeCallback).
//
// The store as a whole carries a schema version (schema.go): a new store
// is stamped SchemaVersion; Open brings an older one up through the
// registered migrations, one per version, each idempotent and committed
// in batches, and refuses a newer one (ErrNewerSchema).
//
// One process holds the file (bbolt's flock): Open gives up after
// lockTimeout with a *LockedError naming the file and, from the owner file
// beside it (owner.go), the holder's pid. ops.go backs up an open store in
// a read transaction (Tx.WriteTo), and verifies, restores and compacts
// store files, always writing a temporary file, syncing it and renaming it
// over the target. retention.go prunes old transitions and finished
// callbacks in bounded batches.
package store
