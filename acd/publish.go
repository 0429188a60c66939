package acd

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// Run publishes every group and agent document to the presence server:
// all of them every PublishInterval, and those that changed after a state
// change, at most once per MinPublishGap. It returns when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	last := map[string][]byte{} // presentity -> last document published
	s.round(ctx, last, true)
	tick := time.NewTicker(s.cfg.PublishInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.round(ctx, last, true)
		case <-s.changed:
			s.round(ctx, last, false)
			select { // the gap: changes meanwhile wait for the next round
			case <-ctx.Done():
				return nil
			case <-time.After(s.cfg.MinPublishGap):
			}
		}
	}
}

// publishers bounds the PUBLISHes of one round in flight at once: each
// waits for the presence server's durable answer.
const publishers = 32

// round publishes the documents that changed, or all when refresh, and
// returns once every answer is in.
func (s *Service) round(ctx context.Context, last map[string][]byte, refresh bool) {
	docs := s.documents(time.Now())
	for uri, doc := range docs {
		if !refresh && bytes.Equal(last[uri], doc) {
			delete(docs, uri)
		}
	}
	var mu sync.Mutex // guards last from here on
	var wg sync.WaitGroup
	slots := make(chan struct{}, publishers)
	for uri, doc := range docs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			err := s.pub.Publish(ctx, uri, doc)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.Warn("publish availability", "presentity", uri, "error", err)
				delete(last, uri) // try again next round
				return
			}
			last[uri] = doc
		}()
	}
	wg.Wait()
}

// documents renders every group and agent document at now.
func (s *Service) documents(now time.Time) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := make(map[string][]byte, len(s.groups)+len(s.agents))
	for _, g := range s.groups {
		uri := s.GroupURI(g.cfg.ID)
		docs[uri] = groupDocument(uri, s.status(g, now))
	}
	for uri, a := range s.agents {
		docs[uri] = agentDocument(a)
	}
	return docs
}
