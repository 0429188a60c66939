package natsstore

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/store"
)

var (
	_ acd.Store           = (*Store)(nil)
	_ calls.CallbackStore = (*Store)(nil)
)

// SaveTransition implements acd.Store: the agent's last state replaced
// in the agents bucket, then the transition appended to the transitions
// stream; two acknowledged writes, not one transaction. Only the ACD's
// leader writes them.
func (s *Store) SaveTransition(ctx context.Context, t acd.Transition) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	rec, err := store.EncodeTransition(t)
	if err != nil {
		return err
	}
	key := encode(t.Agent)
	if _, err := s.recs.agents.Put(ctx, key, rec); err != nil {
		return fmt.Errorf("put agent state: %w", err)
	}
	if _, err := s.js.Publish(ctx, subjectTransitions+key, rec); err != nil {
		return fmt.Errorf("append agent transition: %w", err)
	}
	return nil
}

// LoadAgentStates implements acd.Store: what the last leader stored.
func (s *Store) LoadAgentStates(ctx context.Context, fn func(acd.Transition) error) error {
	return each(ctx, s.recs.agents, ">", store.DecodeTransition, fn)
}

// SaveCallback implements calls.CallbackStore: the record replaced under
// its id, acknowledged by the stream.
func (s *Store) SaveCallback(ctx context.Context, cb calls.Callback) (err error) {
	ctx, done := s.writing(ctx)
	defer func() { done(err) }()
	rec, err := store.EncodeCallback(cb)
	if err != nil {
		return err
	}
	if _, err := s.recs.callbacks.Put(ctx, encode(cb.ID), rec); err != nil {
		return fmt.Errorf("put callback: %w", err)
	}
	return nil
}

// LoadCallbacks implements calls.CallbackStore: every callback stored,
// by this leader or those before it.
func (s *Store) LoadCallbacks(ctx context.Context, fn func(calls.Callback) error) error {
	return each(ctx, s.recs.callbacks, ">", store.DecodeCallback, fn)
}
