// Package natsstore keeps Switchboard's shared state in NATS JetStream
// key-value buckets (store.driver: nats), so that several nodes share it:
// a PUBLISH answered on one node reaches the watchers of every node, a
// REGISTER answered on one reaches the ACD wherever it runs. It
// implements presence.Store and presence.Expirer, location.Store,
// acd.Store and calls.CallbackStore with the records store/ writes to
// bbolt (store.EncodePublication, store.EncodeBindings and friends).
//
//	switchboard_publications   "<presentity>.<etag>"  every node's publications (presence.go)
//	switchboard_subscriptions  "<owner>.<id>"         each process's own subscriptions (presence.go)
//	switchboard_nodes          "lease.<owner>" …      who lives, who died, who takes over (takeover.go)
//	                           "leader.acd"           the ACD's leader lease (leader.go)
//	switchboard_bindings       "<aor>"                the registrar's bindings, any node's (bindings.go)
//	switchboard_agents         "<agent>"              each agent's last state, the leader's (acd.go)
//	switchboard_callbacks      "<id>"                 visitors' callback requests, the leader's (acd.go)
//	switchboard_settings       "<name>"               generated secrets, the first node's (settings.go)
//	switchboard_transitions    (a stream)             every agent transition, kept store.retention (acd.go)
//
// KV keys allow only [-/_=.a-zA-Z0-9], so each part of a key, a SIP URI,
// an entity tag, an owner name or a dialog id, is base64url without
// padding (encode); "." separates the parts, so "<presentity>.*" lists
// one presentity's publications.
//
// Each process is a member under an owner name new at every start (the
// node's name and a random suffix), and holds a lease (lease.go): a key
// with a per-key TTL of half cluster.takeover, renewed three times per
// TTL, which the server removes when the process dies. Every process
// looks for members without a lease every sixth of cluster.takeover; the
// first to claim one dead at two looks in a row moves its subscriptions
// under its own name and hands them to its presence service
// (presence.Service.Adopt), which NOTIFYs each at once, in the same
// dialog, with sequence numbers (CSeq) above the stored reserved mark. A
// restarted process is a new member: its predecessor's subscriptions are
// taken over like any dead node's, by it or another. A process whose
// lease lapsed while it lived (cut off from NATS for a TTL) claims itself
// back, which the second look leaves it the time to do; it stops
// (Takeover returns ErrLeaseLost) only when another has claimed it.
//
// Every write returns once the stream acknowledged it: with replicas (3
// on a cluster) that is once a quorum of servers has it, and the service
// answers its client only then. Publications are written with a per-key
// TTL (the bucket's LimitMarkerTTL allows it), and the server removes
// them when they lapse, whichever node wrote them: the server is the one
// owner of publications' expiry, and the nodes only drop them from memory
// (presence.Expirer). Removals are purges whose markers lapse after
// markerTTL, so that entity tags, new with every refresh, leave nothing
// behind for long.
//
//	node A: PUBLISH ─▶ Service.Publish ─▶ PutPublication (Create, acked) ─▶ 200
//	node B: Watch ◀── the bucket's ordered consumer ─▶ Service.Apply ─▶ NOTIFY B's watchers
//
// Watch (watch.go) follows the publications bucket from where
// LoadPublications read it, and hands every change another process made
// to presence.Service.Apply; the process's own writes, which the service
// applied as it made them, are counted as they are made (echoes) and
// skipped.
//
// Bindings are written by whichever node answered the REGISTER, and
// every node follows the bucket (WatchBindings, records.go's follow) into
// its location service (location.Service.Apply), its own writes
// included, so that all end with the record the stream took last. The
// ACD runs on one node, the leader: Election (leader.go) has every
// candidate try to create the "leader.acd" lease (a Lease, with the TTL
// of a process's own) every third of its TTL; the winner names itself
// and its HTTP address in it, loads the agent states and callbacks the
// leaders before it stored, and holds it; a leader that cannot renew it
// stops. Agent states and callbacks are written by the leader only.
//
// Caveats, for now: a replacement (a refresh or a modification) is two
// writes, the new publication then a purge of the old one, not one
// transaction; a process that dies while moving a dead member's
// subscriptions may leave one stored under both names, and then served
// by two processes until it lapses; a .creds file is passed to the
// client but not tested (TLS with a client certificate is); two nodes
// answering REGISTERs
// of one address-of-record at once each write the whole set they
// computed, and the later write wins (no compare-and-set); finished
// callbacks stay in their bucket (store.retention prunes the bbolt file
// only).
package natsstore
