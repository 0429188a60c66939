package presence

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Service is the presence server's domain. Its methods are safe for
// concurrent use.
type Service struct {
	cfg      Config
	store    Store
	notifier Notifier
	log      *slog.Logger

	// ctx bounds notifications; it ends with Close.
	ctx    context.Context
	cancel context.CancelFunc
	sendMu sync.Mutex // guards closed and sends.Add
	closed bool
	sends  sync.WaitGroup
	window sendWindow // notifications waiting for a place, and their senders

	seq atomic.Uint64 // last publication Seq handed out, or seen from another node (Apply)

	storeExpires bool // the store removes lapsed publications (Expirer)

	observer func(presentity string, doc []byte) // see Observe
	observes func(presentity string) bool        // which presentities observer wants
	lapses   *expiries                           // when publications and subscriptions lapse

	mu           sync.RWMutex
	presentities map[resource]*presentity
	watchers     map[string]*watcher // by subscription ID
	perWatcher   map[string]int      // live subscriptions by watcher
}

// resource is a URI watched for one event package.
type resource struct{ event, uri string }

// resourceOf names uri's resource for event ("" is presence).
func resourceOf(event, uri string) resource {
	if event == "" {
		event = EventPresence
	}
	return resource{event, uri}
}

// presentity is the in-memory state of one resource: a presentity for one
// event package. Its lock is held across the store write of a
// publication, so publications of one resource are applied in order.
type presentity struct {
	uri   string
	event string
	pkg   *eventPackage

	mu   sync.Mutex
	pubs []*publication // oldest first (by Seq); a handful at most (max_publications)
	// doc is the composed document; nil while nothing is published, when
	// the document (a closed one) is composed whenever it is asked for:
	// most presentities watched and never published cost nothing more.
	// stale says doc is out of date: the publications changed while
	// neither a watcher nor the observer wanted it (refresh).
	doc      []byte
	stale    bool
	watchers []*watcher // at most max_subscriptions_per_presentity
}

// pub returns the publication with entity tag etag, nil when none.
// pr.mu must be held.
func (pr *presentity) pub(etag string) *publication {
	for _, p := range pr.pubs {
		if p.ETag == etag {
			return p
		}
	}
	return nil
}

// drop removes the publication with entity tag etag. pr.mu must be held.
func (pr *presentity) drop(etag string) {
	pr.pubs = slices.DeleteFunc(pr.pubs, func(p *publication) bool { return p.ETag == etag })
}

type publication struct {
	Publication
	doc any // parsed by the event package
}

// New returns a Service; call Load before serving requests.
func New(cfg Config, store Store, notifier Notifier, log *slog.Logger) *Service {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg:          cfg,
		store:        store,
		notifier:     notifier,
		log:          log,
		ctx:          ctx,
		cancel:       cancel,
		storeExpires: storeExpires(store),
		presentities: make(map[resource]*presentity),
		perWatcher:   make(map[string]int),
		watchers:     make(map[string]*watcher),
	}
	s.lapses = newExpiries(func(e dueEntry) {
		if e.pr != nil {
			s.expire(e.pr, e.key)
		} else {
			s.timeout(e.key)
		}
	}, s.lapsesAt)
	return s
}

// lapsesAt reports whether the publication or subscription of e still
// lapses at e's time: an entry for an earlier expiry, or for one gone, is
// stale.
func (s *Service) lapsesAt(e dueEntry) bool {
	if e.pr != nil {
		e.pr.mu.Lock()
		defer e.pr.mu.Unlock()
		p := e.pr.pub(e.key)
		return p != nil && p.Expires.UnixNano() == e.at
	}
	w := s.watcher(e.key)
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sub.Expires.UnixNano() == e.at
}

// Observe has f called with every new composed presence document of the
// presentities want says it wants, in order, before watchers are
// notified. Call it before Load; neither must call back into the Service.
// The documents of the others are composed only when somebody watches.
func (s *Service) Observe(want func(presentity string) bool, f func(presentity string, doc []byte)) {
	s.observes, s.observer = want, f
}

// observed reports whether the observer wants pr's documents.
func (s *Service) observed(pr *presentity) bool {
	return s.observer != nil && pr.event == EventPresence && s.observes(pr.uri)
}

// Close stops timers and waits for notifications in flight. State stays in
// the store, to be loaded by the next Service.
func (s *Service) Close() {
	s.sendMu.Lock()
	s.closed = true
	s.sendMu.Unlock()
	s.cancel()
	s.lapses.close()
	s.mu.Lock()
	for _, w := range s.watchers {
		w.stop()
	}
	s.mu.Unlock()
	s.sends.Wait()
}

// Load reads the stored state: publications and subscriptions that expired
// meanwhile are dropped, the others resume with their remaining lifetime.
func (s *Service) Load(ctx context.Context) error {
	if err := s.sizeIndexes(ctx); err != nil {
		return err
	}
	s.lapses.load()
	defer s.lapses.loaded()
	now := time.Now()
	var expired []Publication
	err := s.store.LoadPublications(ctx, func(p Publication) error {
		p.Event = resourceOf(p.Event, p.Presentity).event // stored before events were told apart: presence
		if s.seq.Load() < p.Seq {
			s.seq.Store(p.Seq)
		}
		if !p.Expires.After(now) {
			expired = append(expired, p)
			return nil
		}
		if _, err := packageOf(p.Event); err != nil {
			s.log.Warn("dropping stored publication", "presentity", p.Presentity, "etag", p.ETag, "error", err)
			expired = append(expired, p)
			return nil
		}
		// Parsed, and composed, when somebody needs the document: most
		// presentities are not watched at start.
		pr := s.presentity(resourceOf(p.Event, p.Presentity))
		pr.mu.Lock()
		s.addPublication(pr, &publication{Publication: p})
		pr.stale = true
		pr.mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("load publications: %w", err)
	}
	for _, p := range expired {
		if s.storeExpires {
			break // the store removes them by itself (Expirer)
		}
		if err := s.store.DeletePublication(ctx, p.Presentity, p.ETag); err != nil {
			return fmt.Errorf("drop expired publication: %w", err)
		}
	}
	s.Replay()
	return s.loadSubscriptions(ctx, now)
}

// Replay hands the observer the current document of every presentity it
// wants that has publications, each in order with that presentity's
// changes: at Load, and for an observer that starts to care later (the
// ACD of a node that has just become its cluster's leader).
func (s *Service) Replay() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, pr := range s.presentities {
		pr.mu.Lock()
		if len(pr.pubs) > 0 && s.observed(pr) {
			s.refresh(pr)
			s.observer(pr.uri, s.current(pr))
		}
		pr.mu.Unlock()
	}
}

// sizeIndexes makes the indexes as large as the stored state needs:
// growing a map of a million entries step by step rehashes it some twenty
// times (a third of Load's time at 1M presentities).
func (s *Service) sizeIndexes(ctx context.Context) error {
	pubs, subs, err := s.store.Counts(ctx)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.presentities) == 0 && len(s.watchers) == 0 {
		s.presentities = make(map[resource]*presentity, pubs)
		s.watchers = make(map[string]*watcher, subs)
		s.perWatcher = make(map[string]int, subs)
	}
	return nil
}

// Document returns the composed presence document of a presentity and
// whether it has any publication.
func (s *Service) Document(uri string) ([]byte, bool) {
	return s.document(resourceOf(EventPresence, uri))
}

// document returns the composed document of a resource and whether it has
// any publication.
func (s *Service) document(r resource) ([]byte, bool) {
	s.mu.RLock()
	pr := s.presentities[r]
	s.mu.RUnlock()
	if pr == nil {
		return packages[r.event].compose(r.uri, nil), false
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	s.refresh(pr)
	return s.current(pr), pr.doc != nil
}

// Stats counts what the service holds.
type Stats struct {
	Presentities  int
	Publications  int
	Subscriptions int
}

// Stats returns current counts.
func (s *Service) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Presentities: len(s.presentities), Subscriptions: len(s.watchers)}
	for _, pr := range s.presentities {
		pr.mu.Lock()
		st.Publications += len(pr.pubs)
		pr.mu.Unlock()
	}
	return st
}

// Notifies returns the notifications waiting for their answer, at most
// Config.NotifyWindow, and those waiting for a place in the window.
func (s *Service) Notifies() (inFlight, waiting int) { return s.window.counts() }

// checkURI verifies a canonical presentity URI belongs to a served domain.
func (s *Service) checkURI(uri string) error {
	_, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPresentity, uri)
	}
	_, host, ok := strings.Cut(rest, "@")
	if !ok || !s.cfg.serves(host) {
		return fmt.Errorf("%w: %s", ErrUnknownPresentity, uri)
	}
	return nil
}

// presentity returns the state of a resource, creating it when new. The
// resource's event package must be served.
func (s *Service) presentity(r resource) *presentity {
	s.mu.RLock()
	pr := s.presentities[r]
	s.mu.RUnlock()
	if pr != nil {
		return pr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr = s.presentities[r]; pr == nil {
		pkg := packages[r.event]
		pr = &presentity{uri: r.uri, event: r.event, pkg: pkg}
		s.presentities[r] = pr
	}
	return pr
}

// compose builds the resource's document from its publications, oldest
// first so the newest wins each tuple or dialog (RFC 3903 §4), in a slice
// of its exact size: it is kept as long as nothing changes. With no
// publication it is nil (presentity.doc). A publication loaded from the
// store is parsed here, the first time; one that no longer parses is
// dropped. pr.mu must be held.
func (s *Service) compose(pr *presentity) []byte {
	pr.pubs = slices.DeleteFunc(pr.pubs, func(p *publication) bool {
		if p.doc != nil {
			return false
		}
		doc, err := pr.pkg.parse(p.Body, p.Presentity, s.cfg.MaxDocumentBytes)
		if err == nil {
			p.doc = doc
			return false
		}
		s.log.Warn("dropping stored publication", "presentity", p.Presentity, "etag", p.ETag, "error", err)
		if err := s.store.DeletePublication(s.ctx, p.Presentity, p.ETag); err != nil {
			s.log.Error("drop stored publication", "presentity", p.Presentity, "etag", p.ETag, "error", err)
		}
		return true
	})
	if len(pr.pubs) == 0 {
		return nil
	}
	docs := make([]any, len(pr.pubs))
	for i, p := range pr.pubs {
		docs[i] = p.doc
	}
	return bytes.Clone(pr.pkg.compose(pr.uri, docs))
}

// refresh composes a stale document. pr.mu must be held.
func (s *Service) refresh(pr *presentity) {
	if pr.stale {
		pr.doc, pr.stale = s.compose(pr), false
	}
}

// current is pr's document as sent: the closed one when nothing is
// published. pr.mu must be held, and pr fresh.
func (s *Service) current(pr *presentity) []byte {
	if pr.doc == nil {
		return pr.pkg.compose(pr.uri, nil)
	}
	return pr.doc
}

// newETag returns a fresh, unguessable entity tag.
func newETag() string {
	return rand.Text()[:20]
}
