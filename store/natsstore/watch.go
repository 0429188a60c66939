package natsstore

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// Operations told apart by echoes.
const (
	opPut = "put"
	opDel = "del"
)

// Watch reports every change other processes make to the publications,
// in the stream's order, from where LoadPublications read them, until
// ctx ends: apply gets a stored publication, or a removed one (an
// unpublish, a replaced one, or one the server expired). This process's
// own writes are skipped: the service applied them as it made them.
// apply is presence.Service.Apply in a running process.
func (s *Store) Watch(ctx context.Context, apply func(presence.Change)) error {
	return follow(ctx, s.pubs, s.loadedAt+1, func(e jetstream.KeyValueEntry) { s.report(e, apply) })
}

// report hands one entry to apply, unless it is this process's own.
func (s *Store) report(e jetstream.KeyValueEntry, apply func(presence.Change)) {
	op := opPut
	if e.Operation() != jetstream.KeyValuePut {
		op = opDel
	}
	if s.echoes.take(op, e.Key()) {
		return
	}
	if op == opPut {
		p, err := store.DecodePublication(e.Value())
		if err != nil {
			s.log.Warn("skipping a publication record", "key", e.Key(), "error", err)
			return
		}
		apply(presence.Change{Publication: p})
		return
	}
	presentity, etag, err := parsePublicationKey(e.Key())
	if err != nil {
		s.log.Warn("skipping a removal", "key", e.Key(), "error", err)
		return
	}
	apply(presence.Change{Publication: presence.Publication{Presentity: presentity, ETag: etag}, Removed: true})
}
