// Package acd is the customer support server's domain: agents, skill
// groups, queues, routing and estimated waiting time (EWT). It imports no
// transport package; the adapters drive it through small interfaces.
//
// An agent's state (offline, available, reserved, busy, wrap-up, away) is
// derived from its inputs: its registration (location.Service reports it)
// or its browser softphone (SetSoftphone: a device like a phone),
// what its phone PUBLISHes (PresenceOf reads the composed PIDF document
// through presence/pidf, which parses and writes every PIDF document here),
// the calls the B2BUA routes to it (Offer, Answered, Missed, Failed,
// Ended), and its own choice through the agent API (SetAway). Every change
// of state, and of that choice, is stored (Store) and the choice restored
// at start.
//
//	REGISTER / softphone / PUBLISH ─▶ SetRegistered / SetSoftphone / SetPresence ─▶ derive ─▶ Store
//	                                                     └─▶ Run ─▶ Publisher.Publish (SIP PUBLISH)
//
// Each skill group has a queue (Enqueue, Leave). A blind transfer
// (transfer.go) reserves an agent chosen by hand (Reserve: available, or
// refused with its state) or puts the visitor back in a group's queue
// with its first arrival time (Requeue); Agents lists the roster. Route picks the next
// offer across every group (docs/routing.md): group priority, visitor
// priority, then the longest wait; the preferred agent while sticky_wait
// lasts, proficiency steps and overflow by wait, a speaker of the
// visitor's language, the best skilled, the longest idle since its last
// call; an agent who missed a visitor skipped for ring_skip.
//
// A group is open, busy, full, closed or after-hours (GroupStatus.State).
// Its Estimator gives one estimate for everything shown: the
// queue-length predictor with abandonment for a visitor who is answered,
// counting the visitors served first in groups that share agents and,
// of agents shared with a higher group, the time its traffic leaves
// them; handle time and patience learnt online (patience read off the
// distribution of waits, each memory as long as its data's spread
// needs), and the range the wait falls in with 60% probability. Run publishes
// every group's and agent's document (docs/acd-pidf.md) to the presence
// server over real SIP, even when it runs in the same process, so the
// roles can be split across hosts.
//
// Board (board.go) is the supervisors' view: every agent's state, since
// when and why away, every queue's oldest wait and its served and
// abandoned visitors, today and since start. Handover gives the agent of
// a visitor's chat that visitor's call, ahead of the queue.
//
// Package acd/sim checks the estimate against simulated call centres, the
// estimator alone and the whole Service on a virtual clock (WithClock).
package acd
