// Package natsstore keeps the presence domain's publications and
// subscriptions in NATS JetStream key-value buckets (store.driver: nats),
// so that several Switchboard nodes share them: a PUBLISH answered on one
// node reaches the watchers of every node. It implements presence.Store
// with the records store/ writes to bbolt (store.EncodePublication and
// friends), and presence.Expirer.
//
//	switchboard_publications   "<presentity>.<etag>"  every node's publications (presence.go)
//	switchboard_subscriptions  "<node>.<id>"          each node's own subscriptions (presence.go)
//
// KV keys allow only [-/_=.a-zA-Z0-9], so each part of a key, a SIP URI,
// an entity tag, a node name or a dialog id, is base64url without padding
// (encode); "." separates the parts, so "<presentity>.*" lists one
// presentity's publications.
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
// transaction; subscriptions are not taken over when their node dies
// (they are stored under its name, loaded by it alone); TLS and
// credentials settings are passed to the client but not yet tested.
package natsstore
