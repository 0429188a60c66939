package pidf

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"slices"
	"strconv"
	"strings"
)

// ClosedTupleID is the id of the tuple written by Compose and Closed when no
// publication contributes a tuple. It is stable so that watchers see the
// same tuple across notifications.
const ClosedTupleID = "closed"

// Closed returns the document sent for a presentity with no publication:
// one tuple, id ClosedTupleID, whose basic status is closed. It equals
// Compose(entity, nil).
func Closed(entity string) []byte { return Compose(entity, nil) }

// pick is one element chosen for output and the document it came from.
type pick struct {
	el  *Element
	doc int
}

// slotKey identifies a place in the output. Elements with an id are keyed
// by (Space, Local, ID); those without are grouped by (Space, Local).
type slotKey struct {
	space, local, id string
	group            bool
}

// Compose merges documents ordered oldest to newest into one PIDF document
// for entity (RFC 3903 §4, RFC 3856 composition). nil documents are skipped.
//
//   - Tuples are keyed by ID and Others by (Space, Local, ID) when they have
//     an ID; the newest element wins for each key.
//   - Others without an ID are taken, for each (Space, Local), from the
//     newest document holding any such element only, all of them, in that
//     document's order.
//   - The output order does not depend on the order of the documents, so
//     that republishing the same state changes no byte: open tuples come
//     first, then closed ones, each by ID, because phones and BLF keys read
//     the first <basic> as the presentity's status (RFC 3863 leaves the
//     order open); then Others in the PIDF namespace (<note>), then the
//     remaining Others by (Space, Local, ID), matching the RFC 3863 §4.4
//     schema (tuple*, note*, ##other*). Root declarations are sorted by
//     prefix, the default namespace first.
//   - With no tuple, one tuple with id ClosedTupleID and basic status closed
//     is written first.
//   - Root namespace declarations are the union over all documents: the
//     first declaration of a prefix (oldest document first) wins and later
//     conflicting ones are skipped. An element from a document whose bindings differ from the
//     composed root gets the declarations it depends on added to its start
//     tag, so its names keep their namespaces; otherwise the raw bytes are
//     written unchanged.
//
// The output starts with an XML declaration, is deterministic, and is meant
// for Documents returned by ParseDocument.
func Compose(entity string, docs []*Document) []byte {
	var (
		tupleOrder []string
		tuples     = make(map[string]pick)
		otherOrder []slotKey
		others     = make(map[slotKey][]pick)
	)
	for i, d := range docs {
		if d == nil {
			continue
		}
		for j := range d.Tuples {
			t := &d.Tuples[j]
			if _, ok := tuples[t.ID]; !ok {
				tupleOrder = append(tupleOrder, t.ID)
			}
			tuples[t.ID] = pick{t, i}
		}
		var fresh map[slotKey]bool // id-less groups already restarted by this document
		for j := range d.Others {
			e := &d.Others[j]
			k := slotKey{e.Space, e.Local, e.ID, e.ID == ""}
			prev, seen := others[k]
			if !seen {
				otherOrder = append(otherOrder, k)
			}
			switch {
			case !k.group:
				others[k] = []pick{{e, i}}
			case fresh[k]:
				others[k] = append(prev, pick{e, i})
			default:
				if fresh == nil {
					fresh = make(map[slotKey]bool)
				}
				fresh[k] = true
				others[k] = []pick{{e, i}}
			}
		}
	}

	slices.SortFunc(tupleOrder, func(a, b string) int {
		return cmp.Or(cmp.Compare(basicRank(tuples[a].el.Basic), basicRank(tuples[b].el.Basic)), strings.Compare(a, b))
	})
	slices.SortFunc(otherOrder, func(a, b slotKey) int {
		return cmp.Or(strings.Compare(a.space, b.space), strings.Compare(a.local, b.local), strings.Compare(a.id, b.id))
	})

	ns := unionNS(docs)
	slices.SortFunc(ns, func(a, b Namespace) int { return strings.Compare(a.Prefix, b.Prefix) })
	ns, pfx := rootPrefix(ns)
	fixes := make([][]Namespace, len(docs))
	for i, d := range docs {
		if d != nil {
			fixes[i] = conflicts(d.Namespaces, ns)
		}
	}

	var b bytes.Buffer
	b.Grow(256 + len(tupleOrder)*160 + len(otherOrder)*320)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + pfx + "presence")
	for _, n := range ns {
		writeDecl(&b, n)
	}
	b.WriteString(` entity="`)
	escapeAttr(&b, entity)
	b.WriteString("\">\n")
	if len(tupleOrder) == 0 {
		b.WriteString("<" + pfx + `tuple id="` + ClosedTupleID + `"><` + pfx + "status><" + pfx +
			"basic>closed</" + pfx + "basic></" + pfx + "status></" + pfx + "tuple>\n")
	}
	for _, id := range tupleOrder {
		t := tuples[id]
		writeElement(&b, t.el.Raw, fixes[t.doc])
	}
	for _, inPIDF := range []bool{true, false} {
		for _, k := range otherOrder {
			if (k.space == nsPIDF) != inPIDF {
				continue
			}
			for _, o := range others[k] {
				writeElement(&b, o.el.Raw, fixes[o.doc])
			}
		}
	}
	b.WriteString("</" + pfx + "presence>\n")
	return b.Bytes()
}

// basicRank orders tuples by status: open, closed, then none.
func basicRank(basic string) int {
	switch basic {
	case "open":
		return 0
	case "closed":
		return 1
	}
	return 2
}

// unionNS collects root declarations; the first declaration of a prefix wins.
func unionNS(docs []*Document) []Namespace {
	var ns []Namespace
	for _, d := range docs {
		if d == nil {
			continue
		}
		for _, n := range d.Namespaces {
			if _, ok := lookupNS(ns, n.Prefix); !ok {
				ns = append(ns, n)
			}
		}
	}
	return ns
}

// rootPrefix chooses how the composed root names the PIDF namespace,
// returning "" or "p:" and the declarations, extended when needed: the
// default namespace if it is PIDF, else the first prefix bound to PIDF,
// else a new default declaration, else a new prefix "pidf", "pidf1", ...
func rootPrefix(ns []Namespace) ([]Namespace, string) {
	if uri, ok := lookupNS(ns, ""); ok && uri == nsPIDF {
		return ns, ""
	}
	for _, n := range ns {
		if n.URI == nsPIDF {
			return ns, n.Prefix + ":"
		}
	}
	if _, ok := lookupNS(ns, ""); !ok {
		return append([]Namespace{{"", nsPIDF}}, ns...), ""
	}
	p := "pidf"
	for i := 1; ; i++ {
		if _, taken := lookupNS(ns, p); !taken {
			break
		}
		p = "pidf" + strconv.Itoa(i)
	}
	return append(ns, Namespace{p, nsPIDF}), p + ":"
}

// conflicts lists the bindings of a source document (default namespace
// included, "" when undeclared) that the composed root does not reproduce.
func conflicts(src, out []Namespace) []Namespace {
	var c []Namespace
	check := func(prefix string) {
		want, _ := lookupNS(src, prefix)
		got, ok := lookupNS(out, prefix)
		if prefix == "" {
			ok = true
		}
		if _, dup := lookupNS(c, prefix); (!ok || got != want) && !dup {
			c = append(c, Namespace{prefix, want})
		}
	}
	check("")
	for _, n := range src {
		check(n.Prefix)
	}
	return c
}

// writeElement writes raw followed by a newline, first adding to its start
// tag the declarations in fix that its content relies on.
func writeElement(b *bytes.Buffer, raw []byte, fix []Namespace) {
	var need []Namespace
	if len(fix) > 0 {
		free := freePrefixes(raw)
		for _, n := range fix {
			if free[n.Prefix] {
				need = append(need, n)
			}
		}
	}
	if len(need) == 0 {
		b.Write(raw)
		b.WriteByte('\n')
		return
	}
	i := 1 // end of the element's qualified name
	for i < len(raw) && !bytes.ContainsRune([]byte(" \t\r\n/>"), rune(raw[i])) {
		i++
	}
	b.Write(raw[:i])
	for _, n := range need {
		writeDecl(b, n)
	}
	b.Write(raw[i:])
	b.WriteByte('\n')
}

// freePrefixes returns the prefixes ("" for the default namespace) that names
// in raw use without a declaration inside raw: those resolved by the root.
func freePrefixes(raw []byte) map[string]bool {
	free := make(map[string]bool)
	use := func(sc *scope, prefix string) {
		if prefix == "xml" {
			return
		}
		if _, ok := sc.find(prefix); !ok {
			free[prefix] = true
		}
	}
	var sc scope
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	for {
		tok, err := d.RawToken()
		if err != nil {
			return free
		}
		switch t := tok.(type) {
		case xml.StartElement:
			_ = sc.push(t.Attr) // raw was validated by ParseDocument
			use(&sc, t.Name.Space)
			for _, a := range t.Attr {
				if _, decl := isDecl(a); !decl && a.Name.Space != "" {
					use(&sc, a.Name.Space)
				}
			}
		case xml.EndElement:
			sc.pop()
		}
	}
}

func writeDecl(b *bytes.Buffer, n Namespace) {
	b.WriteString(" xmlns")
	if n.Prefix != "" {
		b.WriteString(":" + n.Prefix)
	}
	b.WriteString(`="`)
	escapeAttr(b, n.URI)
	b.WriteByte('"')
}

// escapeAttr writes s escaped for a double-quoted attribute value.
func escapeAttr(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // bytes.Buffer writes do not fail
}
