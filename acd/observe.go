package acd

import (
	"slices"

	"github.com/switchboard/switchboard/presence/pidf"
)

// PresenceOf reads what an agent's phone says in the composed presence
// document of its presentity uri: the basic status of its tuples and the
// RPID activities of its persons (pidf.Document.Persons), leaving out the
// tuple and person the ACD publishes itself (TupleID) and the placeholder
// of an empty composition. Open wins over closed when the phone has
// several tuples. A document that cannot be read says nothing
// (PresenceNone).
func PresenceOf(uri string, doc []byte) Presence {
	d, err := pidf.ParseDocument(doc, uri, pidf.Limits{})
	if err != nil {
		return PresenceNone
	}
	ours := func(id string) bool { return id == TupleID || id == pidf.ClosedTupleID }
	basic := ""
	for _, t := range d.Tuples {
		if !ours(t.ID) && (t.Basic == "open" || basic == "") {
			basic = t.Basic
		}
	}
	var activities []string
	for _, p := range d.Persons() {
		if !ours(p.ID) {
			activities = slices.Concat(activities, p.Activities)
		}
	}
	return PresenceFrom(basic, activities)
}
