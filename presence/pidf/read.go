package pidf

import (
	"bytes"
	"encoding/xml"
)

// Namespaces of the RPID extensions (RFC 4480) and the data model
// (RFC 4479).
const (
	NamespaceRPID      = "urn:ietf:params:xml:ns:pidf:rpid"
	NamespaceDataModel = "urn:ietf:params:xml:ns:pidf:data-model"
)

// Decode unmarshals one of d's elements (encoding/xml) with the root's
// namespace declarations in scope, as it had them in the document, so
// that struct tags may name elements by namespace URI whatever prefixes
// the publisher chose.
func (d *Document) Decode(el Element, v any) error {
	var b bytes.Buffer
	b.WriteString("<wrap")
	for _, ns := range d.Namespaces {
		if ns.Prefix == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(` xmlns:` + ns.Prefix + `="`)
		}
		xml.EscapeText(&b, []byte(ns.URI))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	b.Write(el.Raw)
	b.WriteString("</wrap>")
	dec := xml.NewDecoder(&b)
	if _, err := dec.Token(); err != nil { // <wrap>
		return err
	}
	for { // the element is the wrapper's only child
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return dec.DecodeElement(v, &se)
		}
	}
}

// Person is what this package reads of an RPID <dm:person> (RFC 4480):
// its id and its activities, by local name.
type Person struct {
	ID         string
	Activities []string
}

// Persons returns d's <dm:person> elements with their RPID activities, in
// document order; one that does not decode is left out.
func (d *Document) Persons() []Person {
	var out []Person
	for _, el := range d.Others {
		if el.Space != NamespaceDataModel || el.Local != "person" {
			continue
		}
		var p struct {
			Activities []struct {
				Any []struct {
					XMLName xml.Name
				} `xml:",any"`
			} `xml:"urn:ietf:params:xml:ns:pidf:rpid activities"`
		}
		if d.Decode(el, &p) != nil {
			continue
		}
		person := Person{ID: el.ID}
		for _, a := range p.Activities {
			for _, x := range a.Any {
				if x.XMLName.Space == NamespaceRPID {
					person.Activities = append(person.Activities, x.XMLName.Local)
				}
			}
		}
		out = append(out, person)
	}
	return out
}
