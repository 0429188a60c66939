package dialoginfo

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/presence/pidf"
)

// Namespace and ContentType of dialog-info documents (RFC 4235 §4.1, §7).
const (
	Namespace   = "urn:ietf:params:xml:ns:dialog-info"
	ContentType = "application/dialog-info+xml"
)

// States of a dialog (RFC 4235 §3.7.1).
const (
	Trying     = "trying"
	Proceeding = "proceeding"
	Early      = "early"
	Confirmed  = "confirmed"
	Terminated = "terminated"
)

// Directions of a dialog, from the observed user's side (RFC 4235 §4.1.1).
const (
	Initiator = "initiator"
	Recipient = "recipient"
)

// ErrInvalid is wrapped by every validation error; the message names the
// problem in a few words fit for a SIP reason phrase.
var ErrInvalid = errors.New("invalid dialog-info")

// Limits bound what ParseDocument reads.
type Limits struct {
	MaxBytes   int // body size; 0 means 65536
	MaxDialogs int // dialogs in one document; 0 means 64
}

// maxDepth bounds element nesting: dialog-info > dialog > local > target >
// param is five deep, extensions get a little more.
const maxDepth = 16

// Dialog is one dialog of an entity (RFC 4235 §4.1.1).
type Dialog struct {
	ID        string `xml:"id,attr"`
	CallID    string `xml:"call-id,attr,omitempty"`
	LocalTag  string `xml:"local-tag,attr,omitempty"`
	RemoteTag string `xml:"remote-tag,attr,omitempty"`
	Direction string `xml:"direction,attr,omitempty"`
	State     string `xml:"state"`
}

// Document is a validated dialog-info document.
type Document struct {
	Entity  string
	Version uint64
	Dialogs []Dialog
}

// ParseDocument validates body as the full state of entity's dialogs. A
// partial state (RFC 4235 §4.1: only for NOTIFY) is refused: a
// publication is always the publisher's whole view.
func ParseDocument(body []byte, entity string, lim Limits) (*Document, error) {
	if lim.MaxBytes == 0 {
		lim.MaxBytes = 65536
	}
	if lim.MaxDialogs == 0 {
		lim.MaxDialogs = 64
	}
	if len(body) > lim.MaxBytes {
		return nil, invalid(fmt.Sprintf("document over %d bytes", lim.MaxBytes))
	}
	if err := scan(body); err != nil {
		return nil, err
	}
	var raw struct {
		XMLName xml.Name
		Version string   `xml:"version,attr"`
		State   string   `xml:"state,attr"`
		Entity  string   `xml:"entity,attr"`
		Dialogs []Dialog `xml:"urn:ietf:params:xml:ns:dialog-info dialog"`
	}
	if err := xml.Unmarshal(body, &raw); err != nil {
		return nil, invalid("malformed XML")
	}
	if raw.XMLName.Space != Namespace || raw.XMLName.Local != "dialog-info" {
		return nil, invalid("root is not dialog-info")
	}
	version, err := strconv.ParseUint(raw.Version, 10, 32)
	if err != nil {
		return nil, invalid("version must be a number")
	}
	switch {
	case raw.State == "partial":
		return nil, invalid("partial state cannot be published")
	case raw.State != "full":
		return nil, invalid("state must be full")
	case !pidf.SameEntity(raw.Entity, entity):
		return nil, invalid("entity does not match the request URI")
	case len(raw.Dialogs) > lim.MaxDialogs:
		return nil, invalid(fmt.Sprintf("over %d dialogs", lim.MaxDialogs))
	}
	seen := make(map[string]bool, len(raw.Dialogs))
	for i := range raw.Dialogs {
		d := &raw.Dialogs[i]
		d.State = strings.TrimSpace(d.State)
		switch {
		case d.ID == "":
			return nil, invalid("dialog without id")
		case seen[d.ID]:
			return nil, invalid("dialog id repeated")
		case rank(d.State) < 0:
			return nil, invalid("unknown dialog state")
		case d.Direction != "" && d.Direction != Initiator && d.Direction != Recipient:
			return nil, invalid("direction must be initiator or recipient")
		}
		seen[d.ID] = true
	}
	return &Document{Entity: raw.Entity, Version: version, Dialogs: raw.Dialogs}, nil
}

// scan refuses a DTD and nesting deeper than maxDepth before the document
// is decoded.
func scan(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.RawToken()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return invalid("malformed XML")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return invalid("DTD not allowed")
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return invalid("nested too deep")
			}
		case xml.EndElement:
			depth--
		case xml.ProcInst:
			if t.Target != "xml" {
				return invalid("processing instruction not allowed")
			}
		}
	}
}

// rank orders dialog states for display, the liveliest first; -1 for an
// unknown state.
func rank(state string) int {
	return slices.Index([]string{Confirmed, Early, Proceeding, Trying, Terminated}, state)
}

// Compose merges publications of entity, oldest first, into one full
// document with version 0: dialogs keyed by id, the newest winning,
// ordered live first (confirmed, early, proceeding, trying, terminated),
// then by id, so that the same dialogs always give the same bytes and a
// phone reading the first dialog sees the busiest.
func Compose(entity string, docs []*Document) []byte {
	byID := map[string]Dialog{}
	for _, d := range docs {
		if d == nil {
			continue
		}
		for _, dl := range d.Dialogs {
			byID[dl.ID] = dl
		}
	}
	dialogs := make([]Dialog, 0, len(byID))
	for _, d := range byID {
		dialogs = append(dialogs, d)
	}
	slices.SortFunc(dialogs, func(a, b Dialog) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), strings.Compare(a.ID, b.ID))
	})
	return Render(entity, 0, dialogs)
}

// Render writes a full dialog-info document of entity with dialogs, in
// their order.
func Render(entity string, version uint64, dialogs []Dialog) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<dialog-info xmlns="%s" version="%d" state="full" entity="`, Namespace, version)
	escape(&b, entity)
	b.WriteString("\">\n")
	for _, d := range dialogs {
		b.WriteString(`<dialog id="`)
		escape(&b, d.ID)
		b.WriteByte('"')
		for _, a := range [][2]string{{"call-id", d.CallID}, {"local-tag", d.LocalTag}, {"remote-tag", d.RemoteTag}, {"direction", d.Direction}} {
			if a[1] != "" {
				b.WriteString(" " + a[0] + `="`)
				escape(&b, a[1])
				b.WriteByte('"')
			}
		}
		b.WriteString("><state>")
		escape(&b, d.State)
		b.WriteString("</state></dialog>\n")
	}
	b.WriteString("</dialog-info>\n")
	return b.Bytes()
}

// versionZero is how Render starts a document of version 0.
var versionZero = []byte(`" version="0" state="full"`)

// WithVersion returns doc, a document written by Compose, stamped with
// version v.
func WithVersion(doc []byte, v uint64) []byte {
	return bytes.Replace(doc, versionZero, fmt.Appendf(nil, `" version="%d" state="full"`, v), 1)
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // bytes.Buffer writes do not fail
}

// invalidError is a validation failure whose text is its reason.
type invalidError struct{ reason string }

func (e *invalidError) Error() string { return ErrInvalid.Error() + ": " + e.reason }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(reason string) error { return &invalidError{reason} }
