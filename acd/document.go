package acd

import (
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/presence/dialoginfo"
	"github.com/switchboard/switchboard/presence/pidf"
)

// Namespace is our PIDF extension (docs/acd-pidf.md): the group and agent
// figures watchers such as the web role and wallboards read.
const Namespace = "urn:switchboard:params:xml:ns:acd"

// TupleID marks the tuple and elements the ACD publishes, so that when it
// reads an agent's composed document back it can tell its own tuple from
// the agent's phone.
const TupleID = "switchboard-acd"

// GroupURI is the presentity of a group.
func (s *Service) GroupURI(id string) string { return "sip:" + id + "@" + s.cfg.Domain }

// groupDocument renders a group's availability as PIDF (RFC 3863) with our
// extension: basic open when the group takes visitors now.
func groupDocument(entity string, st GroupStatus) []byte {
	basic := "closed"
	if st.Accepting {
		basic = "open"
	}
	w := pidf.NewWriter(entity, pidf.Namespace{Prefix: "sb", URI: Namespace})
	w.Tuple(TupleID, basic)
	w.Start(Namespace, "group", "id", st.ID, "skill", st.Skill, "state", st.State())
	seconds := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) } // rounded already
	for _, f := range [...]struct{ name, value string }{
		{"name", st.Name},
		{"available-agents", strconv.Itoa(st.Available)},
		{"busy-agents", strconv.Itoa(st.Busy)},
		{"away-agents", strconv.Itoa(st.Away)},
		{"queue-length", strconv.Itoa(st.QueueLength)},
		{"ewt-seconds", seconds(st.EWT)},
		{"ewt-band", st.Band},
		{"ewt-low-seconds", seconds(st.EWTLow)},
		{"ewt-high-seconds", seconds(st.EWTHigh)},
	} {
		w.Element(Namespace, f.name, f.value)
	}
	if !st.OpensAt.IsZero() {
		w.Element(Namespace, "opens-at", st.OpensAt.UTC().Format(time.RFC3339))
	}
	return w.Bytes()
}

// agentDocument renders an agent's state: basic open when available, an
// RPID activity for busy and away (RFC 4480: the away reason's, e.g.
// meal), and our agent element.
func agentDocument(a *Agent, reasons []AwayReason) []byte {
	basic := "closed"
	if a.State == StateAvailable {
		basic = "open"
	}
	w := pidf.NewWriter(a.Config.URI,
		pidf.Namespace{Prefix: "dm", URI: pidf.NamespaceDataModel},
		pidf.Namespace{Prefix: "rpid", URI: pidf.NamespaceRPID},
		pidf.Namespace{Prefix: "sb", URI: Namespace})
	w.Tuple(TupleID, basic)
	act := activity(a.State)
	for _, r := range reasons {
		if a.State == StateAway && a.ManualAway && r.ID == a.AwayReason {
			act = r.Activity
		}
	}
	if act != "" {
		w.Person(TupleID, act)
	}
	w.EmptyElement(Namespace, "agent", "state", a.State.String(), "since", a.Since.UTC().Format(time.RFC3339))
	return w.Bytes()
}

// agentDialog is the agent's dialog with the ACD's calls for its
// dialog-info document (RFC 4235): early while its phone rings, confirmed
// on the call, terminated after; the agent is its recipient. No visitor
// identity is given. ok is false for an agent never offered a call.
func agentDialog(a *Agent) (d dialoginfo.Dialog, ok bool) {
	if a.Dialog == "" {
		return dialoginfo.Dialog{}, false
	}
	state := dialoginfo.Terminated
	switch a.Call {
	case callReserved:
		state = dialoginfo.Early
	case callBusy:
		state = dialoginfo.Confirmed
	}
	return dialoginfo.Dialog{ID: a.Dialog, Direction: dialoginfo.Recipient, State: state}, true
}

// dialogDocument renders dialogs as the full dialog-info of entity,
// ordered as a presence server composes them.
func dialogDocument(entity string, dialogs []dialoginfo.Dialog) []byte {
	return dialoginfo.Compose(entity, []*dialoginfo.Document{{Entity: entity, Dialogs: dialogs}})
}

func activity(s State) string {
	switch s {
	case StateBusy, StateReserved, StateWrapUp:
		return "on-the-phone"
	case StateAway:
		return "away"
	}
	return ""
}

// ParseGroupDocument reads a group's availability back from the presence
// document of its presentity uri (what groupDocument writes, possibly
// composed by a presence server), for watchers such as the web role. ok is
// false when the document is not valid PIDF or carries no group element of
// ours.
func ParseGroupDocument(uri string, doc []byte) (st GroupStatus, ok bool) {
	d, err := pidf.ParseDocument(doc, uri, pidf.Limits{})
	if err != nil {
		return GroupStatus{}, false
	}
	var g struct {
		ID        string `xml:"id,attr"`
		Skill     string `xml:"skill,attr"`
		State     string `xml:"state,attr"`
		Name      string `xml:"urn:switchboard:params:xml:ns:acd name"`
		Available int    `xml:"urn:switchboard:params:xml:ns:acd available-agents"`
		Busy      int    `xml:"urn:switchboard:params:xml:ns:acd busy-agents"`
		Away      int    `xml:"urn:switchboard:params:xml:ns:acd away-agents"`
		Queue     int    `xml:"urn:switchboard:params:xml:ns:acd queue-length"`
		EWT       int    `xml:"urn:switchboard:params:xml:ns:acd ewt-seconds"`
		Band      string `xml:"urn:switchboard:params:xml:ns:acd ewt-band"`
		Low       int    `xml:"urn:switchboard:params:xml:ns:acd ewt-low-seconds"`
		High      int    `xml:"urn:switchboard:params:xml:ns:acd ewt-high-seconds"`
		OpensAt   string `xml:"urn:switchboard:params:xml:ns:acd opens-at"`
	}
	i := slices.IndexFunc(d.Others, func(el pidf.Element) bool { return el.Space == Namespace && el.Local == "group" })
	if i < 0 || d.Decode(d.Others[i], &g) != nil {
		return GroupStatus{}, false
	}
	st = GroupStatus{ID: g.ID, Name: g.Name, Skill: g.Skill, Open: g.State != GroupAfterHours,
		Available: g.Available, Busy: g.Busy, Away: g.Away, QueueLength: g.Queue,
		EWT: time.Duration(g.EWT) * time.Second, Band: g.Band,
		EWTLow: time.Duration(g.Low) * time.Second, EWTHigh: time.Duration(g.High) * time.Second}
	st.OpensAt, _ = time.Parse(time.RFC3339, g.OpensAt) // absent or unreadable: no opening shown
	for _, t := range d.Tuples {
		if t.ID == TupleID {
			st.Accepting = t.Basic == "open"
		}
	}
	return st, true
}
