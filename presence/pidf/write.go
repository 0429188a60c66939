package pidf

import (
	"bytes"
	"slices"
)

// Writer writes one PIDF document (RFC 3863): tuples, RPID persons
// (RFC 4480) and extension elements, every name and value escaped. It is
// what a publisher builds where ParseDocument is what a presence agent
// reads. The zero Writer is not usable: start with NewWriter.
type Writer struct {
	b    bytes.Buffer
	ns   []Namespace
	open []string // qualified names of the extension elements left open
}

// NewWriter starts the document of entity, declaring on its root the PIDF
// namespace as the default and ns, e.g. {"rpid", NamespaceRPID}.
func NewWriter(entity string, ns ...Namespace) *Writer {
	w := &Writer{ns: ns}
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.b.WriteString(`<presence`)
	writeDecl(&w.b, Namespace{URI: nsPIDF})
	for _, n := range ns {
		writeDecl(&w.b, n)
	}
	w.attr("entity", entity)
	w.b.WriteByte('>')
	return w
}

// Tuple writes a tuple with its basic status, "open" or "closed".
func (w *Writer) Tuple(id, basic string) {
	w.b.WriteString("<tuple")
	w.attr("id", id)
	w.b.WriteString("><status><basic>")
	escapeAttr(&w.b, basic)
	w.b.WriteString("</basic></status></tuple>")
}

// Person writes a data-model person (RFC 4479) with the RPID activities
// given by local name, e.g. "on-the-phone", "away"; none writes no
// activities element. The two namespaces are declared on the element
// when the root does not declare them.
func (w *Writer) Person(id string, activities ...string) {
	dm, rpid := w.prefix(NamespaceDataModel), w.prefix(NamespaceRPID)
	local := dm == "" || rpid == ""
	if local {
		dm, rpid = "dm", "rpid"
	}
	w.b.WriteString("<" + dm + ":person")
	if local {
		writeDecl(&w.b, Namespace{Prefix: dm, URI: NamespaceDataModel})
		writeDecl(&w.b, Namespace{Prefix: rpid, URI: NamespaceRPID})
	}
	w.attr("id", id)
	w.b.WriteByte('>')
	if len(activities) > 0 {
		w.b.WriteString("<" + rpid + ":activities>")
		for _, a := range activities {
			w.b.WriteString("<" + rpid + ":" + a + "/>")
		}
		w.b.WriteString("</" + rpid + ":activities>")
	}
	w.b.WriteString("</" + dm + ":person>")
}

// Start opens an extension element local of a namespace the root declares
// (NewWriter), with attributes given as name, value pairs. It panics on a
// namespace the root does not declare: that is the caller's bug.
func (w *Writer) Start(space, local string, attrs ...string) {
	w.open = append(w.open, w.startTag(space, local, attrs))
	w.b.WriteByte('>')
}

// End closes the extension element Start opened last.
func (w *Writer) End() {
	name := w.open[len(w.open)-1]
	w.open = w.open[:len(w.open)-1]
	w.b.WriteString("</" + name + ">")
}

// Element writes an extension element holding text.
func (w *Writer) Element(space, local, text string) {
	name := w.qualified(space, local)
	w.b.WriteString("<" + name + ">")
	escapeAttr(&w.b, text)
	w.b.WriteString("</" + name + ">")
}

// EmptyElement writes an extension element with attributes (name, value
// pairs) and no content.
func (w *Writer) EmptyElement(space, local string, attrs ...string) {
	w.startTag(space, local, attrs)
	w.b.WriteString("/>")
}

// startTag writes a start tag up to its closing '>' and returns the
// element's qualified name.
func (w *Writer) startTag(space, local string, attrs []string) string {
	name := w.qualified(space, local)
	w.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.attr(attrs[i], attrs[i+1])
	}
	return name
}

// Bytes closes the extension elements left open and the document, and
// returns it. The Writer is done.
func (w *Writer) Bytes() []byte {
	for len(w.open) > 0 {
		w.End()
	}
	w.b.WriteString("</presence>")
	return w.b.Bytes()
}

func (w *Writer) attr(name, value string) {
	w.b.WriteString(" " + name + `="`)
	escapeAttr(&w.b, value)
	w.b.WriteByte('"')
}

// prefix is the prefix the root declares for uri, "" when none.
func (w *Writer) prefix(uri string) string {
	if i := slices.IndexFunc(w.ns, func(n Namespace) bool { return n.URI == uri && n.Prefix != "" }); i >= 0 {
		return w.ns[i].Prefix
	}
	return ""
}

func (w *Writer) qualified(space, local string) string {
	p := w.prefix(space)
	if p == "" {
		panic("pidf: Writer: namespace " + space + " is not declared on the root")
	}
	return p + ":" + local
}
