package acd

import (
	"bytes"
	"encoding/xml"
	"strings"

	"github.com/switchboard/switchboard/presence/pidf"
)

// Namespaces read from an agent's presence document.
const (
	nsPIDF = "urn:ietf:params:xml:ns:pidf"
	nsRPID = "urn:ietf:params:xml:ns:pidf:rpid"
	nsDM   = "urn:ietf:params:xml:ns:pidf:data-model"
)

// PresenceOf reads what an agent's phone says in a composed presence
// document: the basic status of its tuples and the RPID activities of its
// person elements, leaving out the tuple and person the ACD publishes
// itself (TupleID) and the placeholder of an empty composition. Open wins over closed when the phone has several
// tuples. A document that cannot be read says nothing (PresenceNone).
func PresenceOf(doc []byte) Presence {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var basics, activities []string
	var inOurs, inBasic, inActivities bool
	depth, oursDepth := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			// Skip what the ACD published itself, and the placeholder tuple
			// of a presentity with no publication at all.
			if id := attr(t, "id"); (t.Name.Local == "tuple" && t.Name.Space == nsPIDF || t.Name.Local == "person" && t.Name.Space == nsDM) &&
				(id == TupleID || id == pidf.ClosedTupleID) {
				inOurs, oursDepth = true, depth
			}
			switch {
			case inOurs:
			case t.Name.Space == nsPIDF && t.Name.Local == "basic":
				inBasic = true
			case t.Name.Space == nsRPID && t.Name.Local == "activities":
				inActivities = true
			case inActivities:
				activities = append(activities, t.Name.Local)
			}
		case xml.EndElement:
			if inOurs && depth == oursDepth {
				inOurs = false
			}
			if t.Name.Space == nsRPID && t.Name.Local == "activities" {
				inActivities = false
			}
			inBasic = false
			depth--
		case xml.CharData:
			if inBasic && !inOurs {
				basics = append(basics, strings.TrimSpace(string(t)))
			}
		}
	}
	basic := ""
	for _, b := range basics {
		if b == "open" || basic == "" {
			basic = b
		}
	}
	return PresenceFrom(basic, activities)
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
