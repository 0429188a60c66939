package sim

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// RunService simulates sc through the real acd.Service on a virtual clock,
// so that what is scored is the estimate the product shows (Waiting, for
// the visitor's own position, as the calls API gives it) and the routing
// it does: group priorities, agents in several groups, wrap-up, missed
// rings and ring_skip, agents going away and back (Staffing). With
// sc.Groups above 1, the agents serve every group and arrivals are shared
// among the groups equally; the first group has the highest priority.
// An abandoner's potential wait ends when the first visitor of its group
// who came after it is answered: a group answers its visitors in the
// order they came (a missed ring aside), so the abandoner would have been
// answered by then, and not much earlier.
func RunService(sc Scenario) Result {
	if sc.Agents < 1 || sc.HandleTime <= 0 || sc.Patience <= 0 || sc.Visitors < 0 ||
		!(sc.MaxArrival > 0) || sc.Arrival == nil {
		panic(fmt.Sprintf("sim: malformed scenario %q", sc.Name))
	}
	rng := rand.New(rand.NewPCG(sc.Seed, 0x5eed_ac0d_e57_1a7e))
	clock := &virtualClock{now: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)}
	start := clock.now
	groups := max(sc.Groups, 1)
	cfg := acd.DefaultConfig()
	cfg.WrapUp, cfg.StickyWait, cfg.MaxMisses, cfg.Estimator = sc.WrapUp, 0, 0, sc.EstimatorSeed
	for g := range groups {
		id := "g" + strconv.Itoa(g)
		cfg.Groups = append(cfg.Groups, acd.GroupConfig{ID: id, Skill: id, MinProficiency: 1, Priority: groups - g})
	}
	for i := range sc.Agents {
		skills := map[string]int{}
		for g := range groups {
			skills["g"+strconv.Itoa(g)] = 3
		}
		cfg.Agents = append(cfg.Agents, acd.AgentConfig{URI: "sip:agent" + strconv.Itoa(i) + "@sim", Skills: skills})
	}
	svc, err := acd.New(cfg, nil, noStore{}, slog.New(slog.NewTextHandler(io.Discard, nil)), acd.WithClock(clock))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, a := range cfg.Agents {
		svc.SetRegistered(ctx, a.URI, true)
	}
	truth := acd.NewEstimator(acd.EstimatorConfig{HandleTime: sc.HandleTime + sc.WrapUp, Patience: sc.Patience, Weight: 0})
	holdtime := make([]float64, groups) // Asterisk's, per queue
	type waiter struct {
		group  int
		arrive time.Time
		pred   [3]float64
		lo, hi float64
		scored bool
	}
	waiting := map[string]*waiter{}
	gaveUp := make([][]*waiter, groups) // per group, abandoners in arrival order, potential wait not yet known
	var ofServed, ofAbandoned score
	res := Result{Scenario: sc.Name, Seed: sc.Seed}
	secs := func(t time.Time) float64 { return t.Sub(start).Seconds() }

	// answer starts the service of the visitor an agent took.
	answer := func(agent string, it *acd.Item, w *waiter) {
		now := clock.now
		delete(waiting, it.ID)
		svc.Answered(ctx, agent)
		svc.Leave(it.Group, it.ID, now, false)
		res.Served++
		hold := now.Sub(w.arrive).Seconds()
		holdtime[w.group] = (holdtime[w.group]*3 + hold) / 4
		if w.scored {
			ofServed.add(w.pred, hold)
			ofServed.cover(w.lo, w.hi, hold)
		}
		for len(gaveUp[w.group]) > 0 && gaveUp[w.group][0].arrive.Before(w.arrive) {
			ab := gaveUp[w.group][0]
			gaveUp[w.group] = gaveUp[w.group][1:]
			ofAbandoned.add(ab.pred, now.Sub(ab.arrive).Seconds())
		}
		talk := sc.Service.draw(rng, sc.HandleTime.Seconds())
		group := it.Group
		clock.after(seconds(talk), func() { svc.Ended(ctx, agent, group, seconds(talk)) })
	}

	// dispatch offers queued visitors to free agents, as calls.Manager
	// does. An agent answers at once, or, with probability sc.NoAnswer,
	// lets its phone ring for ringTime and misses the visitor, who stays
	// queued (and may give up meanwhile).
	dispatch := func() {
		for {
			it, agent, ok := svc.Route(clock.now, nil)
			if !ok {
				return
			}
			w := waiting[it.ID]
			svc.Offer(ctx, agent, it)
			if rng.Float64() >= sc.NoAnswer {
				answer(agent, it, w)
				continue
			}
			clock.after(ringTime, func() {
				if _, still := waiting[it.ID]; still {
					svc.Missed(ctx, agent, it)
				} else {
					svc.Release(ctx, agent, it) // the visitor gave up while it rang
				}
			})
		}
	}

	// staff sets agents away or back so that Staffing(t) of them take
	// calls; one set away on a call finishes it first.
	staff := func() {
		want := min(sc.Agents, max(sc.Staffing(clock.now.Sub(start)), 0))
		for i, a := range cfg.Agents {
			svc.SetAway(ctx, a.URI, i >= want, "")
		}
	}

	nextArrival := func(t float64) float64 {
		for {
			t += rng.ExpFloat64() / sc.MaxArrival
			if rng.Float64()*sc.MaxArrival < sc.Arrival(seconds(t)) {
				return t
			}
		}
	}
	arrival := math.Inf(1)
	if sc.Visitors > 0 {
		arrival = nextArrival(0)
	}
	if sc.Staffing != nil { // looked at every minute while visitors come or wait
		var tick func()
		tick = func() {
			staff()
			if !math.IsInf(arrival, 1) || len(waiting) > 0 {
				clock.after(time.Minute, tick)
			}
		}
		tick()
	}
	for n := 0; !math.IsInf(arrival, 1) || clock.events.Len() > 0; {
		if clock.events.Len() == 0 || arrival < secs(clock.events[0].at) {
			clock.now = start.Add(seconds(arrival))
			n++
			if n < sc.Visitors {
				arrival = nextArrival(arrival)
			} else {
				arrival = math.Inf(1)
			}
			g := rng.IntN(groups)
			id := "v" + strconv.Itoa(n)
			newcomer := svc.Status(clock.now)[g] // the 60% interval a newcomer is shown
			it := svc.NewItem(id, "g"+strconv.Itoa(g), "", 0, clock.now)
			svc.Enqueue(it)
			w := &waiter{group: g, arrive: clock.now, lo: newcomer.EWTLow.Seconds(), hi: newcomer.EWTHigh.Seconds()}
			waiting[id] = w
			dispatch()
			if _, still := waiting[id]; !still {
				continue // answered at once: nothing announced
			}
			w.scored = true
			pos, ewt := svc.Waiting(it.Group, id, clock.now)
			st := svc.Status(clock.now)[g]
			ahead := max(pos-1-st.Available, 0)
			w.pred = [3]float64{ewt.Seconds(), truth.Wait(ahead, float64(st.Available+st.Busy)).Seconds(), holdtime[g]}
			patience := sc.Impatience.draw(rng, sc.Patience.Seconds())
			clock.after(seconds(patience), func() {
				if _, still := waiting[id]; still {
					delete(waiting, id)
					svc.Leave(it.Group, id, clock.now, true)
					res.Abandoned++
					gaveUp[w.group] = append(gaveUp[w.group], w)
				}
			})
			continue
		}
		ev := heap.Pop(&clock.events).(timer)
		clock.now = ev.at
		ev.f()
		dispatch()
	}
	res.scored(&ofServed, &ofAbandoned)
	return res
}

// virtualClock is the acd.Clock of a simulation: its timers are events of
// the simulation, run in time order.
type virtualClock struct {
	now    time.Time
	events timers
	seq    int
}

func (c *virtualClock) Now() time.Time { return c.now }

func (c *virtualClock) AfterFunc(d time.Duration, f func()) { c.after(d, f) }

func (c *virtualClock) after(d time.Duration, f func()) {
	c.seq++
	heap.Push(&c.events, timer{at: c.now.Add(d), seq: c.seq, f: f})
}

type timer struct {
	at  time.Time
	seq int // ties in the order set
	f   func()
}

type timers []timer

func (h timers) Len() int { return len(h) }
func (h timers) Less(i, j int) bool {
	return h[i].at.Before(h[j].at) || h[i].at.Equal(h[j].at) && h[i].seq < h[j].seq
}
func (h timers) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timers) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timers) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// ringTime is how long a phone that is not answered rings (calls.ring_timeout).
const ringTime = 20 * time.Second

// noStore keeps nothing: a simulation has no restart to survive.
type noStore struct{}

func (noStore) SaveTransition(context.Context, acd.Transition) error { return nil }
func (noStore) LoadAgentStates(context.Context, func(acd.Transition) error) error {
	return nil
}
