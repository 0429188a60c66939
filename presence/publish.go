package presence

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PublishRequest is one PUBLISH, already stripped of its transport.
type PublishRequest struct {
	// Presentity is the canonical URI published for.
	Presentity string
	// Event is the event package: EventPresence (also when empty) or
	// EventDialog.
	Event string
	// IfMatch is the entity tag of the publication refreshed, modified or
	// removed (SIP-If-Match); empty for an initial publication.
	IfMatch string
	// Expires is the requested lifetime; nil when the request named none.
	Expires *time.Duration
	// ContentType and Body are the document; an empty Body refreshes.
	ContentType string
	Body        []byte
}

// Publish applies a publication (RFC 3903 §6) and returns it as stored:
// with its new entity tag and granted expiry, or with a zero Expires when it
// was removed. The store write is durable before Publish returns, and
// nothing changes when it returns an error.
func (s *Service) Publish(ctx context.Context, r PublishRequest) (Publication, error) {
	if err := s.checkURI(r.Presentity); err != nil {
		return Publication{}, err
	}
	pkg, err := packageOf(r.Event)
	if err != nil {
		return Publication{}, err
	}
	expires, err := s.grant(r.Expires, s.cfg.PublishMinExpires, s.cfg.PublishDefaultExpires, s.cfg.PublishMaxExpires)
	if err != nil {
		return Publication{}, err
	}
	var doc any
	if len(r.Body) > 0 {
		if doc, err = pkg.parse(r.Body, r.Presentity, s.cfg.MaxDocumentBytes); err != nil {
			return Publication{}, err
		}
	} else if r.IfMatch == "" {
		return Publication{}, ErrNoBody
	}

	pr := s.presentity(resourceOf(r.Event, r.Presentity))
	pr.mu.Lock()
	defer pr.mu.Unlock()

	var old *publication
	if r.IfMatch != "" {
		old = pr.pub(r.IfMatch)
		if old == nil || !old.Expires.After(time.Now()) {
			return Publication{}, fmt.Errorf("%w: %s", ErrConditionFailed, r.IfMatch)
		}
	}
	if old != nil && expires == 0 {
		return Publication{}, s.unpublish(ctx, pr, old)
	}
	if expires == 0 {
		return Publication{}, ErrRemoveWithoutETag
	}
	if err := s.fits(pr, old, len(r.Body)); err != nil {
		return Publication{}, err
	}

	p := Publication{
		Presentity:  r.Presentity,
		Event:       pr.event,
		ETag:        newETag(),
		Expires:     time.Now().Add(expires),
		ContentType: r.ContentType,
		Body:        r.Body,
		Seq:         s.seq.Add(1),
	}
	replaces := ""
	if old != nil {
		replaces = old.ETag
		if doc == nil { // refresh: same document, same place in the order
			p.Body, p.ContentType, p.Seq, doc = old.Body, old.ContentType, old.Seq, old.doc
		}
	}
	if err := s.store.PutPublication(ctx, p, replaces); err != nil {
		return Publication{}, fmt.Errorf("publish %s: %w", r.Presentity, err)
	}
	if old != nil {
		pr.drop(old.ETag)
	}
	s.addPublication(pr, &publication{Publication: p, doc: doc})
	s.recompose(pr)
	return p, nil
}

// fits checks a publication of size bytes, replacing old (nil for a new
// one), against the presentity's caps. pr.mu must be held.
func (s *Service) fits(pr *presentity, old *publication, size int) error {
	if old == nil && len(pr.pubs) >= s.cfg.MaxPublications {
		return &LimitError{Limit: "presence.max_publications", Max: s.cfg.MaxPublications}
	}
	total := size
	for _, p := range pr.pubs {
		if p != old {
			total += len(p.Body)
		}
	}
	if old != nil && size == 0 {
		total += len(old.Body) // a refresh keeps the body
	}
	if total > s.cfg.MaxPresentityBytes {
		return &LimitError{Limit: "presence.max_presentity_bytes", Max: s.cfg.MaxPresentityBytes}
	}
	return nil
}

// grant applies the expiry rules shared by PUBLISH and SUBSCRIBE: a missing
// value takes the default, 0 stays 0, a too-short value is refused and a
// too-long one is cut to the maximum.
func (s *Service) grant(req *time.Duration, lo, def, hi time.Duration) (time.Duration, error) {
	switch {
	case req == nil:
		return def, nil
	case *req == 0:
		return 0, nil
	case *req < lo:
		return 0, &IntervalTooBriefError{Min: lo}
	case *req > hi:
		return hi, nil
	}
	return *req, nil
}

// addPublication indexes p, in Seq order, and arms its expiry. Equal
// Seqs, made by two nodes of a cluster at once, are ordered by entity
// tag, so that every node composes them alike. pr.mu must be held.
func (s *Service) addPublication(pr *presentity, p *publication) {
	i, _ := slices.BinarySearchFunc(pr.pubs, p, func(q, p *publication) int {
		return cmp.Or(cmp.Compare(q.Seq, p.Seq), strings.Compare(q.ETag, p.ETag))
	})
	pr.pubs = slices.Insert(pr.pubs, i, p)
	s.lapses.add(p.Expires, pr, p.ETag)
}

// unpublish removes old (RFC 3903 §6, step 6). pr.mu must be held.
func (s *Service) unpublish(ctx context.Context, pr *presentity, old *publication) error {
	if err := s.store.DeletePublication(ctx, pr.uri, old.ETag); err != nil {
		return fmt.Errorf("unpublish %s: %w", pr.uri, err)
	}
	pr.drop(old.ETag)
	s.recompose(pr)
	return nil
}

// expire removes a publication that was not refreshed in time.
func (s *Service) expire(pr *presentity, etag string) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	p := pr.pub(etag)
	if p == nil || p.Expires.After(time.Now()) {
		return
	}
	if s.storeExpires { // the store removes it by itself (Expirer)
		pr.drop(etag)
		s.recompose(pr)
		return
	}
	if err := s.unpublish(s.ctx, pr, p); err != nil {
		s.log.Error("expire publication", "presentity", pr.uri, "etag", etag, "error", err)
	}
}

// recompose rebuilds the document and wakes the watchers when it changed;
// with no watcher and no observer it only marks the document stale, to
// be composed when somebody asks for it. pr.mu must be held.
func (s *Service) recompose(pr *presentity) {
	observed := s.observed(pr)
	if len(pr.watchers) == 0 && !observed {
		pr.stale = true
		return
	}
	was, wasStale := pr.doc, pr.stale
	pr.doc, pr.stale = s.compose(pr), false
	if !wasStale && bytes.Equal(pr.doc, was) && (pr.doc == nil) == (was == nil) {
		return
	}
	if observed {
		s.observer(pr.uri, s.current(pr))
	}
	for _, w := range pr.watchers {
		s.kick(w)
	}
}
