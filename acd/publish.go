package acd

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/presence/dialoginfo"
)

// Run publishes every group and agent document to the presence server:
// all of them every PublishInterval, and those that changed after a state
// change, at most once per MinPublishGap. It returns when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	last := map[resource][]byte{} // last document published
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

// resource is a presentity's state for one event package.
type resource struct{ event, uri string }

// round publishes the documents that changed, or all when refresh, and
// returns once every answer is in.
func (s *Service) round(ctx context.Context, last map[resource][]byte, refresh bool) {
	docs := s.documents(time.Now())
	for uri, doc := range docs {
		if !refresh && bytes.Equal(last[uri], doc) {
			delete(docs, uri)
		}
	}
	var mu sync.Mutex // guards last from here on
	var wg sync.WaitGroup
	slots := make(chan struct{}, publishers)
	for r, doc := range docs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			err := s.pub.Publish(ctx, r.event, r.uri, doc)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.Warn("publish availability", "presentity", r.uri, "event", r.event, "error", err)
				delete(last, r) // try again next round
				return
			}
			last[r] = doc
		}()
	}
	wg.Wait()
}

// documents renders every group and agent document at now: presence,
// and dialog-info for the agents that were offered a call and the groups
// they serve.
func (s *Service) documents(now time.Time) map[resource][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := make(map[resource][]byte, 2*(len(s.groups)+len(s.agents)))
	for _, g := range s.groups {
		uri := s.GroupURI(g.cfg.ID)
		docs[resource{presence.EventPresence, uri}] = groupDocument(uri, s.status(g, now))
		var dialogs []dialoginfo.Dialog
		for _, a := range s.agents {
			if d, ok := agentDialog(a); ok && a.Proficiency(g.cfg.Skill) >= g.cfg.MinProficiency {
				dialogs = append(dialogs, d)
			}
		}
		if len(dialogs) > 0 {
			docs[resource{presence.EventDialog, uri}] = dialogDocument(uri, dialogs)
		}
	}
	for uri, a := range s.agents {
		docs[resource{presence.EventPresence, uri}] = agentDocument(a, s.cfg.AwayReasons)
		if d, ok := agentDialog(a); ok {
			docs[resource{presence.EventDialog, uri}] = dialogDocument(uri, []dialoginfo.Dialog{d})
		}
	}
	return docs
}
