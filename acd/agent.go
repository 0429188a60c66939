package acd

import (
	"strings"
	"time"
)

// State is an agent's availability for routing.
type State int

// Agent states. The zero value is StateUnknown.
const (
	StateUnknown   State = iota
	StateOffline         // no live registration nor softphone: nothing can ring
	StateAvailable       // registered, present, no call: may be routed to
	StateReserved        // ringing for a routed visitor
	StateBusy            // on a call
	StateWrapUp          // after a call, until Config.WrapUp has passed
	StateAway            // registered but not taking calls
)

var stateNames = [...]string{"unknown", "offline", "available", "reserved", "busy", "wrap-up", "away"}

// AgentStates names every state an agent can be in (all but unknown), in
// the order of the constants.
func AgentStates() []string { return append([]string(nil), stateNames[StateOffline:]...) }

// String returns the state's name as used in documents and the API.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return stateNames[0]
	}
	return stateNames[s]
}

// Presence is what an agent's own phone says of it (its PUBLISH).
type Presence int

const (
	// PresenceNone: the phone has published nothing (a registered phone
	// counts as ready).
	PresenceNone Presence = iota
	// PresenceOpen: basic open, no activity that means otherwise.
	PresenceOpen
	// PresenceAway: basic closed, or an RPID activity such as away,
	// meal, busy or vacation.
	PresenceAway
	// PresenceOnPhone: the RPID activity on-the-phone, a call the ACD did
	// not place.
	PresenceOnPhone
)

// awayActivities are RPID activities (RFC 4480 §3.2) that mean an agent
// is not taking calls.
var awayActivities = []string{"away", "meal", "busy", "vacation", "sleeping", "meeting", "appointment",
	"holiday", "permanent-absence", "travel", "in-transit", "steering", "lookingfor-work", "performance"}

// PresenceFrom derives an agent's presence from its basic status and
// RPID activities.
func PresenceFrom(basic string, activities []string) Presence {
	for _, a := range activities {
		a = strings.ToLower(a)
		if a == "on-the-phone" {
			return PresenceOnPhone
		}
		for _, away := range awayActivities {
			if a == away {
				return PresenceAway
			}
		}
	}
	switch basic {
	case "open":
		return PresenceOpen
	case "closed":
		return PresenceAway
	}
	return PresenceNone
}

// call is where an agent stands with the calls the ACD routes.
type call int

const (
	callNone call = iota
	callReserved
	callBusy
	callWrapUp
)

// Agent is one customer support representative as the ACD sees it. Its
// State is derived from its inputs, so no input can leave it
// inconsistent.
type Agent struct {
	Config AgentConfig

	Registered  bool      // has a live registration
	Softphone   bool      // has a browser softphone connected
	Presence    Presence  // what its phone published
	ManualAway  bool      // set away through the agent API
	AwayReason  string    // the reason it gave (AwayReason.ID), "" when none
	Call        call      // where it stands with routed calls
	WrapUpUntil time.Time // end of wrap-up
	Misses      int       // routed calls not answered, in a row
	Dialog      string    // ID of the last item offered, "" before any
	// IdleSince is when its last call ended, wrap-up included (when it
	// first signed in, before any): "longest idle" counts from it, not
	// from its last change of state, which a re-REGISTER may bring.
	IdleSince time.Time

	State State     // the derived state, as of Since
	Since time.Time // when State began

	wrapping handling // the call being wrapped up
}

// handling is a call in wrap-up: its handle time (talk plus the wrap-up
// it really took) is learnt when the wrap-up ends.
type handling struct {
	group string
	talk  time.Duration
	start time.Time // of the wrap-up
}

// derive computes the state from the inputs at now.
func (a *Agent) derive(now time.Time) State {
	switch {
	case !a.online():
		return StateOffline
	case a.Call == callReserved:
		return StateReserved
	case a.Call == callBusy, a.Presence == PresenceOnPhone:
		return StateBusy
	case a.Call == callWrapUp && now.Before(a.WrapUpUntil):
		return StateWrapUp
	case a.ManualAway, a.Presence == PresenceAway:
		return StateAway
	}
	return StateAvailable
}

// online reports whether something can ring for the agent: a registered
// phone or a connected browser softphone, each a device alike.
func (a *Agent) online() bool { return a.Registered || a.Softphone }

// signedIn reports whether the agent takes calls at all: registered and
// not away (it may be on a call).
func (a *Agent) signedIn(now time.Time) bool {
	st := a.derive(now)
	return st != StateOffline && st != StateAway
}

// Proficiency returns the agent's proficiency in skill, 0 without it.
func (a *Agent) Proficiency(skill string) int {
	return a.Config.Skills[skill]
}
