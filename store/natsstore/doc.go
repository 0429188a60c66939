// Package natsstore keeps the presence domain's publications and
// subscriptions in NATS JetStream key-value buckets (store.driver: nats),
// so that several Switchboard nodes share them: a PUBLISH answered on one
// node reaches the watchers of every node. It implements presence.Store
// with the records store/ writes to bbolt (store.EncodePublication and
// friends), and presence.Expirer.
//
//	switchboard_publications   "<presentity>.<etag>"  every node's publications (presence.go)
//	switchboard_subscriptions  "<owner>.<id>"         each process's own subscriptions (presence.go)
//	switchboard_nodes          "lease.<owner>" …      who lives, who died, who takes over (takeover.go)
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
// first to claim one moves its subscriptions under its own name and hands
// them to its presence service (presence.Service.Adopt), which NOTIFYs
// each at once, in the same dialog, with sequence numbers (CSeq) above
// the stored reserved mark. A restarted process is a new member: its
// predecessor's subscriptions are taken over like any dead node's, by it
// or another. A process that cannot renew its own lease for a TTL stops
// (Takeover returns ErrLeaseLost): another may be serving its
// subscriptions already.
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
// Caveats, for now: a replacement (a refresh or a modification) is two
// writes, the new publication then a purge of the old one, not one
// transaction; a process that dies while moving a dead member's
// subscriptions may leave one stored under both names, and then served
// by two processes until it lapses; TLS and credentials settings are
// passed to the client but not yet tested.
package natsstore
