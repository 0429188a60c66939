package presence

import "time"

// Several nodes of a cluster can share one Store (natsstore): each holds
// every publication in memory, and a node hears of those the others write
// through Apply, fed by the store's watch. Subscriptions stay with the
// node that answered them.

// Change is a change of the stored publications that another node made.
type Change struct {
	// Publication is the publication stored, or, when Removed, the one
	// removed: then only Presentity and ETag need be set (entity tags
	// are unique; an empty Event looks in every event package).
	Publication Publication
	// Removed says the publication was removed: unpublished, replaced by
	// a refresh or a modification, or lapsed.
	Removed bool
}

// Expirer is implemented by a Store that removes each publication by
// itself once it lapses (natsstore: a per-key TTL on the server). Every
// node then holds every publication and none owns its timer, so the
// service only drops a lapsed publication from memory, and the store
// alone deletes it.
type Expirer interface {
	// ExpiresPublications reports whether the store removes lapsed
	// publications itself.
	ExpiresPublications() bool
}

// storeExpires reports whether the store removes lapsed publications.
func storeExpires(st Store) bool {
	e, ok := st.(Expirer)
	return ok && e.ExpiresPublications()
}

// Apply brings the in-memory state up to a change another node made to
// the store, and notifies the watchers here when the composed document
// changes (coalesced as for a local PUBLISH). Changes must come in the
// order the store made them. It is idempotent: a publication already
// held, a removal of one not held, or a publication already lapsed
// changes nothing. It writes nothing to the store.
func (s *Service) Apply(c Change) {
	p := c.Publication
	if c.Removed {
		for event := range packages {
			if p.Event == "" || p.Event == event {
				s.applyRemoval(resource{event, p.Presentity}, p.ETag)
			}
		}
		return
	}
	if _, err := packageOf(p.Event); err != nil || !p.Expires.After(time.Now()) {
		return
	}
	r := resourceOf(p.Event, p.Presentity)
	p.Event = r.event
	s.observeSeq(p.Seq)
	pr := s.presentity(r)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.pub(p.ETag) != nil {
		return
	}
	s.addPublication(pr, &publication{Publication: p})
	s.recompose(pr)
}

// applyRemoval drops the publication etag of r when it is held.
func (s *Service) applyRemoval(r resource, etag string) {
	s.mu.RLock()
	pr := s.presentities[r]
	s.mu.RUnlock()
	if pr == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.pub(etag) == nil {
		return
	}
	pr.drop(etag)
	s.recompose(pr)
}

// observeSeq raises the service's publication counter to at least seq:
// a Lamport clock, so that a publication made here after one seen from
// another node is newer than it in every node's composition.
func (s *Service) observeSeq(seq uint64) {
	for {
		cur := s.seq.Load()
		if cur >= seq || s.seq.CompareAndSwap(cur, seq) {
			return
		}
	}
}
