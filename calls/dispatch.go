package calls

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// dispatchInterval is how often queued calls are routed and their
// position and EWT refreshed even without a change.
const dispatchInterval = time.Second

// Run routes queued calls to agents as agents become available and calls
// arrive, until ctx is done; then it ends every call (reason shutdown)
// and returns once they have ended.
func (m *Manager) Run(ctx context.Context) error {
	changes := m.acd.Changes()
	tick := time.NewTicker(dispatchInterval)
	defer tick.Stop()
	for {
		m.dispatch(time.Now())
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.stopping = true
			m.mu.Unlock()
			close(m.stop)
			m.wg.Wait()
			return nil
		case <-m.wake:
		case <-changes:
		case <-tick.C:
		}
	}
}

// dispatch offers every queued call or callback an agent can take to
// that agent, and refreshes the position and EWT of calls that still wait.
func (m *Manager) dispatch(now time.Time) {
	m.mu.Lock()
	waiting := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		if v, _ := c.View(); v.State == StateQueued {
			waiting = append(waiting, c)
		}
	}
	chats := make([]*chat, 0, len(m.chats))
	for _, ch := range m.chats {
		chats = append(chats, ch)
	}
	m.mu.Unlock()
	m.route(now)
	for _, c := range waiting {
		m.refresh(c, now)
	}
	for _, ch := range chats {
		m.refreshChat(ch, now)
	}
}

// route hands queued visitors to the agents the ACD picks, across every
// group in the ACD's order, reserving each agent before the next pick.
func (m *Manager) route(now time.Time) {
	ctx := context.Background()
	// Which items may be offered, taken before Route: its predicate runs
	// under the ACD's lock, and m.mu is held elsewhere around ACD calls.
	ready := make(map[string]bool)
	m.mu.Lock()
	for id, c := range m.calls {
		select {
		case <-c.media.Ready():
			ready[id] = true
		default:
		}
	}
	for id, cb := range m.callbacks {
		ready[id] = cb.ready(now)
	}
	for id := range m.chats {
		ready[id] = true
	}
	m.mu.Unlock()
	if len(ready) == 0 {
		return
	}
	for {
		it, agent, ok := m.acd.Route(now, func(it *acd.Item) bool { return ready[it.ID] })
		if !ok {
			return
		}
		m.acd.Offer(ctx, agent, it)
		m.mu.Lock()
		c, cb, ch := m.calls[it.ID], m.callbacks[it.ID], m.chats[it.ID]
		if ch != nil && !m.stopping {
			m.mu.Unlock()
			if !ch.offer(agent) {
				m.acd.Release(ctx, agent, it)
			}
			continue
		}
		if cb != nil && !m.stopping {
			m.wg.Add(1)
			go m.attempt(cb, agent)
			m.mu.Unlock()
			continue
		}
		m.mu.Unlock()
		if c == nil || !c.offer(agent) {
			// The call ended since: it left the queue, or is about to.
			m.acd.Release(ctx, agent, it)
			m.acd.Leave(it.Group, it.ID, now, true)
		}
	}
}

// refresh updates a queued call's position and EWT, and offers a
// callback to a caller who waited past the group's maximum.
func (m *Manager) refresh(c *Call, now time.Time) {
	group := c.group()
	pos, ewt := m.acd.Waiting(group, c.id, now)
	overdue := m.cb != nil && m.acd.Overdue(group, c.item.Enqueued, now)
	c.update(func(v *View) {
		if v.State == StateQueued {
			v.Position, v.EWT = pos, ewt
			v.CallbackOffered = v.CallbackOffered || overdue
		}
	})
}
