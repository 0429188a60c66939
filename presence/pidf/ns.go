package pidf

import (
	"encoding/xml"
	"errors"
	"strings"
)

// Well-known namespace names.
const (
	nsPIDF  = "urn:ietf:params:xml:ns:pidf"          // RFC 3863 §4.4
	nsXML   = "http://www.w3.org/XML/1998/namespace" // bound to prefix xml
	nsXMLNS = "http://www.w3.org/2000/xmlns/"        // never declarable
)

var errNamespace = errors.New("namespace error")

// scope is the stack of in-scope namespace declarations used to resolve
// prefixed names (Namespaces in XML 1.0 §5 and §6). encoding/xml's own
// resolution silently leaves undeclared prefixes in place, so names are
// resolved here from RawToken output instead.
type scope struct {
	binds []Namespace // innermost declaration last
	marks []int       // len(binds) when each open element was pushed
}

// isDecl reports whether a is a namespace declaration and returns the
// prefix it declares ("" for the default namespace).
func isDecl(a xml.Attr) (prefix string, ok bool) {
	switch {
	case a.Name.Space == "xmlns":
		return a.Name.Local, true
	case a.Name.Space == "" && a.Name.Local == "xmlns":
		return "", true
	}
	return "", false
}

// push opens an element and records the declarations among its attributes,
// rejecting those Namespaces in XML 1.0 §3 forbids.
func (s *scope) push(attrs []xml.Attr) error {
	s.marks = append(s.marks, len(s.binds))
	for _, a := range attrs {
		p, ok := isDecl(a)
		if !ok {
			continue
		}
		switch {
		case p == "xmlns", a.Value == nsXMLNS:
			return errNamespace
		case p == "xml" && a.Value != nsXML, p != "xml" && a.Value == nsXML:
			return errNamespace
		case p != "" && a.Value == "": // undeclaring a prefix is XML 1.1 only
			return errNamespace
		case strings.Contains(p, ":"):
			return errNamespace
		}
		s.binds = append(s.binds, Namespace{Prefix: p, URI: a.Value})
	}
	return nil
}

// pop closes the innermost element, dropping its declarations.
func (s *scope) pop() {
	if n := len(s.marks); n > 0 {
		s.binds = s.binds[:s.marks[n-1]]
		s.marks = s.marks[:n-1]
	}
}

// find returns the innermost declaration of prefix in this scope only.
func (s *scope) find(prefix string) (string, bool) {
	for i := len(s.binds) - 1; i >= 0; i-- {
		if s.binds[i].Prefix == prefix {
			return s.binds[i].URI, true
		}
	}
	return "", false
}

// resolve maps a raw name to its namespace URI. Unprefixed attributes are in
// no namespace; unprefixed elements take the default namespace.
func (s *scope) resolve(n xml.Name, attr bool) (xml.Name, error) {
	if n.Local == "" || strings.Contains(n.Local, ":") {
		return n, errNamespace
	}
	switch n.Space {
	case "":
		if attr {
			return n, nil
		}
		uri, _ := s.find("")
		return xml.Name{Space: uri, Local: n.Local}, nil
	case "xml":
		return xml.Name{Space: nsXML, Local: n.Local}, nil
	case "xmlns":
		return n, errNamespace
	}
	uri, ok := s.find(n.Space)
	if !ok {
		return n, errNamespace
	}
	return xml.Name{Space: uri, Local: n.Local}, nil
}

// lookupNS returns the URI bound to prefix by a list of root declarations.
func lookupNS(list []Namespace, prefix string) (uri string, ok bool) {
	for _, n := range list {
		if n.Prefix == prefix {
			return n.URI, true
		}
	}
	return "", false
}
