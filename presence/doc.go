// Package presence is the presence server's domain: presentities, the
// publications that devices make for them (RFC 3903), the composition of
// those publications into one document (RFC 3856 §6.2), and the watchers
// subscribed to that document (RFC 6665). It serves two event packages,
// presence (PIDF, presence/pidf) and dialog (RFC 4235 dialog-info for BLF
// keys, presence/dialoginfo), with the same machinery: a resource is a
// URI for one package (event.go says what differs between them).
//
// It imports no transport. An adapter (sip/) turns a PUBLISH into
// [Service.Publish] and a SUBSCRIBE into [Service.Subscribe], and implements
// [Notifier] to carry notifications back as NOTIFY requests. State goes
// through a [Store] (store/ on bbolt) before the caller is answered, and
// reads are served from memory.
//
//	PUBLISH ─▶ Publish ─▶ Store.PutPublication (durable) ─▶ compose ─▶ kick watchers
//	SUBSCRIBE ─▶ Subscribe ─▶ Store.PutSubscription ─▶ (2xx sent) ─▶ Flush ─▶ Notifier.Notify
//
// Nodes of a cluster may share one Store (store/natsstore): each holds
// every publication, and hears of those the others make through
// [Service.Apply], which recomposes and notifies its own watchers
// (remote.go). A subscription stays with the node that answered it
// until that node dies: the store then hands it to a survivor's
// [Service.Adopt], which notifies at once, numbering above the reserved
// mark. A store that removes lapsed publications by itself ([Expirer])
// owns their expiry: the service then only drops them from memory.
//
// The service caps what one client can create (publications and their
// bytes per presentity, subscriptions per watcher and per presentity) and
// applies the watch policy (Config.WatchPolicy); refusals are LimitError
// and ErrNotAllowed.
//
// Notifications to one watcher are single-flight and rate-limited: at most one
// per Config.MinNotifyInterval, and the last one always carries the latest
// document. At most Config.NotifyWindow are in flight at once; the others
// wait in order for a place, their senders started on demand. Each carries
// a sequence number that never goes backwards, across
// restarts too: the store keeps a reserved high-water mark, not every number.
//
// Memory per presentity is kept small (BenchmarkStateScale and
// BenchmarkStateReload weigh it): a publication's body and its parsed
// document share their bytes, the composed document is kept at its exact
// size and composed only when a watcher or the observer (Observe) wants
// it, a publication loaded from the store is parsed only then too, and
// one scheduler (expiry.go) rather than a timer each tells publications
// and subscriptions when they lapse. Replay hands the observer the
// current documents again, for one that starts to care late (the ACD of
// a node that has just become its cluster's leader).
package presence
