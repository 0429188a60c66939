package pidf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// Default limits applied by ParseDocument when a Limits field is zero.
const (
	DefaultMaxBytes = 65536
	DefaultMaxDepth = 32
)

// Limits bounds what ParseDocument accepts before and while decoding XML.
type Limits struct {
	MaxBytes int // body size cap; 0 means DefaultMaxBytes (65536)
	MaxDepth int // element nesting cap; 0 means DefaultMaxDepth (32)
}

// Document is a validated PIDF document.
type Document struct {
	Entity     string      // the entity attribute, as written
	Tuples     []Element   // <tuple> children of <presence>, document order; each has an ID
	Others     []Element   // every other child element of <presence> (RPID <dm:person>, <dm:device>, <note>, extensions), document order
	Namespaces []Namespace // xmlns declarations on the root <presence> element, in order (default namespace has Prefix "")
}

// Element is one child of <presence>, kept verbatim so RPID and extensions
// pass through unchanged.
type Element struct {
	Space, Local string // resolved namespace URI and local name
	ID           string // value of the id attribute ("" when absent; required for tuples)
	Basic        string // tuples only: "open" or "closed" (from <status><basic>), "" when absent
	Raw          []byte // the element exactly as it appeared in the input bytes (start tag to end tag)
}

// Namespace is one namespace declaration; Prefix is "" for the default
// namespace.
type Namespace struct{ Prefix, URI string }

var utf8BOM = []byte("\xef\xbb\xbf")

// parser holds the state of one ParseDocument call.
type parser struct {
	body       []byte // private copy of the input; Raw slices point into it
	presentity string
	maxDepth   int
	dec        *xml.Decoder
	sc         scope
	open       []xml.Name // raw names of open elements, for end-tag matching
	doc        Document
	rootDone   bool
	ids        map[string]struct{}

	// The child of <presence> being read, when len(open) >= 2.
	cur       Element
	curStart  int64
	isTuple   bool
	nStatus   int
	nBasic    int
	inStatus  bool
	inBasic   bool
	basicText []byte
}

// ParseDocument validates body as a PIDF document (RFC 3863) published for
// presentity, a SIP URI such as "sip:alice@example.com". Any failure wraps
// ErrInvalid; the error text is "invalid PIDF: " and a short reason.
//
// Checks, in the order met: size (before decoding) and nesting depth against
// lim; XML and namespace well-formedness (no DOCTYPE, no undeclared prefix,
// no duplicate attribute, nothing after the root); a root <presence> in the
// PIDF namespace with an entity naming presentity (SameEntity); tuples with
// a non-empty unique id, exactly one <status> and at most one <basic>, which
// must read open or closed. Zero tuples is valid.
//
// The children of <presence> are returned with their exact input bytes;
// text and comments between them are dropped. Their Raw bytes are body's
// own, not a copy (a presence server keeps the body as published and the
// parsed document side by side, one copy of the bytes between them): the
// caller must not change body while it uses the Document.
func ParseDocument(body []byte, presentity string, lim Limits) (*Document, error) {
	maxBytes, maxDepth := lim.MaxBytes, lim.MaxDepth
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if len(body) > maxBytes {
		return nil, invalid("document too large", nil)
	}
	p := &parser{body: body, presentity: presentity, maxDepth: maxDepth}
	p.dec = xml.NewDecoder(bytes.NewReader(p.body))
	p.dec.Strict = true
	if err := p.run(); err != nil {
		return nil, err
	}
	doc := p.doc // a copy, so the parser and its decoder can be collected
	return &doc, nil
}

func (p *parser) run() error {
	for {
		off := p.dec.InputOffset()
		tok, err := p.dec.RawToken()
		if err == io.EOF {
			if !p.rootDone {
				return invalid(reasonMalformed, io.ErrUnexpectedEOF)
			}
			return nil
		}
		if err != nil {
			return invalid(reasonMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = p.start(t, off)
		case xml.EndElement:
			err = p.end(t)
		case xml.CharData:
			err = p.text(t, off)
		case xml.Directive: // <!DOCTYPE ...> and friends: no DTDs, no entity expansion
			err = invalid("DTD not allowed", nil)
		case xml.ProcInst:
			// The XML declaration may only open the document (XML 1.0 §2.8).
			if strings.EqualFold(t.Target, "xml") && off != p.bomLen() {
				err = invalid(reasonMalformed, errors.New("misplaced XML declaration"))
			}
		}
		if err != nil {
			return err
		}
	}
}

func (p *parser) bomLen() int64 {
	if bytes.HasPrefix(p.body, utf8BOM) {
		return int64(len(utf8BOM))
	}
	return 0
}

func (p *parser) start(t xml.StartElement, off int64) error {
	if len(p.open) >= p.maxDepth {
		return invalid("document nested too deeply", nil)
	}
	if p.rootDone {
		return invalid(reasonMalformed, errors.New("content after root element"))
	}
	if err := p.sc.push(t.Attr); err != nil {
		return invalid(reasonMalformed, err)
	}
	p.open = append(p.open, t.Name)
	name, err := p.sc.resolve(t.Name, false)
	if err != nil {
		return invalid(reasonMalformed, err)
	}
	if err := p.checkAttrs(t.Attr); err != nil {
		return err
	}
	switch depth := len(p.open); {
	case depth == 1:
		return p.root(name, t.Attr)
	case depth == 2:
		p.cur = Element{Space: name.Space, Local: name.Local, ID: attr(t.Attr, "id")}
		p.curStart = off
		p.isTuple = name == xml.Name{Space: nsPIDF, Local: "tuple"}
		p.nStatus, p.nBasic = 0, 0
		if p.isTuple {
			return p.tupleID(p.cur.ID)
		}
	case p.isTuple && depth == 3 && name == xml.Name{Space: nsPIDF, Local: "status"}:
		// RFC 3863 §4.1.3: exactly one <status> per tuple.
		if p.nStatus++; p.nStatus > 1 {
			return invalid("tuple with more than one status", nil)
		}
		p.inStatus = true
	case p.inStatus && depth == 4 && name == xml.Name{Space: nsPIDF, Local: "basic"}:
		// RFC 3863 §4.1.4: at most one <basic> per status.
		if p.nBasic++; p.nBasic > 1 {
			return invalid("status with more than one basic", nil)
		}
		p.inBasic, p.basicText = true, p.basicText[:0]
	case p.inBasic:
		return invalid(reasonBasic, nil) // <basic> holds text only
	}
	return nil
}

// checkAttrs resolves attribute names and rejects duplicates, which
// encoding/xml lets through (XML 1.0 §3.1, Namespaces in XML 1.0 §6.3).
func (p *parser) checkAttrs(attrs []xml.Attr) error {
	seen := make([]xml.Name, 0, len(attrs))
	for _, a := range attrs {
		var n xml.Name
		if pfx, ok := isDecl(a); ok {
			n = xml.Name{Space: "\x00xmlns", Local: pfx}
		} else if r, err := p.sc.resolve(a.Name, true); err != nil {
			return invalid(reasonMalformed, err)
		} else {
			n = r
		}
		for _, s := range seen {
			if s == n {
				return invalid(reasonMalformed, errors.New("duplicate attribute"))
			}
		}
		seen = append(seen, n)
	}
	return nil
}

// root checks the <presence> element (RFC 3863 §4.1.1).
func (p *parser) root(name xml.Name, attrs []xml.Attr) error {
	if name != (xml.Name{Space: nsPIDF, Local: "presence"}) {
		return invalid("root element is not presence", nil)
	}
	for _, a := range attrs {
		if pfx, ok := isDecl(a); ok {
			p.doc.Namespaces = append(p.doc.Namespaces, Namespace{Prefix: pfx, URI: a.Value})
		}
	}
	p.doc.Entity = attr(attrs, "entity")
	if p.doc.Entity == "" {
		return invalid("missing entity", nil)
	}
	// RFC 3863 §4.1.1, RFC 3856 §6: the entity is the presentity the
	// document was published for.
	if !SameEntity(p.doc.Entity, p.presentity) {
		return invalid("entity does not match presentity", nil)
	}
	return nil
}

// tupleID checks the id of a <tuple> (RFC 3863 §4.1.2: required, unique).
func (p *parser) tupleID(id string) error {
	if id == "" {
		return invalid("tuple without id", nil)
	}
	if _, dup := p.ids[id]; dup {
		return invalid("duplicate tuple id", nil)
	}
	if p.ids == nil {
		p.ids = make(map[string]struct{})
	}
	p.ids[id] = struct{}{}
	return nil
}

func (p *parser) end(t xml.EndElement) error {
	n := len(p.open)
	if n == 0 || p.open[n-1] != t.Name {
		return invalid(reasonMalformed, errors.New("mismatched end tag"))
	}
	p.open = p.open[:n-1]
	p.sc.pop()
	switch n {
	case 4:
		if p.inBasic {
			p.inBasic = false
			// RFC 3863 §4.1.4: "open" or "closed"; xs:token, so surrounding
			// whitespace is not significant.
			switch v := strings.Trim(string(p.basicText), " \t\r\n"); v {
			case "open", "closed":
				p.cur.Basic = v
			default:
				return invalid(reasonBasic, nil)
			}
		}
	case 3:
		p.inStatus = false
	case 2:
		end := p.dec.InputOffset()
		p.cur.Raw = p.body[p.curStart:end:end]
		if p.isTuple {
			if p.nStatus == 0 {
				return invalid("tuple without status", nil)
			}
			p.doc.Tuples = append(p.doc.Tuples, p.cur)
		} else {
			p.doc.Others = append(p.doc.Others, p.cur)
		}
		p.cur, p.isTuple = Element{}, false
	case 1:
		p.rootDone = true
	}
	return nil
}

// text handles character data: inside <basic> it is the status value;
// outside the root element only white space (and a leading BOM) may appear.
func (p *parser) text(t xml.CharData, off int64) error {
	if p.inBasic {
		p.basicText = append(p.basicText, t...)
		return nil
	}
	if len(p.open) > 0 {
		return nil // mixed content of <presence> or inside a child: ignored / kept in Raw
	}
	if off == 0 {
		t = bytes.TrimPrefix(t, utf8BOM)
	}
	if len(bytes.Trim(t, " \t\r\n")) != 0 {
		return invalid(reasonMalformed, errors.New("text outside root element"))
	}
	return nil
}

// attr returns the value of the unprefixed attribute local, or "".
func attr(attrs []xml.Attr, local string) string {
	for _, a := range attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
