package pidf

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	nsDM   = "urn:ietf:params:xml:ns:pidf:data-model"
	nsRPID = "urn:ietf:params:xml:ns:pidf:rpid"
)

// pub builds a publication for alice from children of <presence>.
func pub(t testing.TB, children string) *Document {
	t.Helper()
	body := `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="` + nsDM + `" xmlns:rpid="` + nsRPID +
		`" entity="sip:alice@example.com">` + children + `</presence>`
	return mustParse(t, body)
}

func mustParse(t testing.TB, body string) *Document {
	t.Helper()
	d, err := ParseDocument([]byte(body), alice, Limits{})
	if err != nil {
		t.Fatalf("ParseDocument(%q): %v", body, err)
	}
	return d
}

// reparse checks that a composed document is itself valid and returns it.
func reparse(t testing.TB, out []byte) *Document {
	t.Helper()
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n")) {
		t.Fatalf("output lacks the XML declaration:\n%s", out)
	}
	d, err := ParseDocument(out, alice, Limits{MaxBytes: len(out)})
	if err != nil {
		t.Fatalf("composed document does not re-parse: %v\n%s", err, out)
	}
	return d
}

func tuple(id, basic string) string {
	return `<tuple id="` + id + `"><status><basic>` + basic + `</basic></status></tuple>`
}

const (
	personPhone = `<dm:person id="p1"><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note>On a call</dm:note></dm:person>`
	personAway  = `<dm:person id="p1"><rpid:activities><rpid:away/></rpid:activities></dm:person>`
)

func TestCompose(t *testing.T) {
	tests := []struct {
		name   string
		docs   []string // children of each publication, oldest first
		tuples []tupleSummary
		has    []string // raw fragments that must appear verbatim
		hasNot []string
	}{
		{"TwoDevicesBothAppear",
			[]string{tuple("pc", "open"), tuple("phone", "closed")},
			[]tupleSummary{{"pc", "open"}, {"phone", "closed"}}, nil, nil},
		{"SameTupleIDNewestWins",
			[]string{tuple("pc", "open") + tuple("phone", "open"), tuple("pc", "closed")},
			[]tupleSummary{{"phone", "open"}, {"pc", "closed"}}, nil, nil},
		{"PersonReplacedByNewest",
			[]string{tuple("pc", "open") + personPhone, tuple("phone", "open") + personAway},
			[]tupleSummary{{"pc", "open"}, {"phone", "open"}},
			[]string{personAway}, []string{"on-the-phone"}},
		{"PersonKeptWhenNewerHasNone",
			[]string{tuple("pc", "open") + personPhone, tuple("pc", "closed")},
			[]tupleSummary{{"pc", "closed"}}, []string{personPhone}, nil},
		{"NotesFromNewestDocumentWithNotes",
			[]string{`<note>a</note><note>b</note>` + tuple("pc", "open"), `<note>c</note>`, tuple("pc", "open")},
			[]tupleSummary{{"pc", "open"}}, []string{"<note>c</note>"}, []string{"<note>a</note>", "<note>b</note>"}},
		{"NoPublicationsIsClosed",
			nil, []tupleSummary{{ClosedTupleID, "closed"}}, nil, nil},
		{"OnlyPersonGetsClosedTuple",
			[]string{personPhone},
			[]tupleSummary{{ClosedTupleID, "closed"}}, []string{personPhone}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var docs []*Document
			for _, c := range tc.docs {
				docs = append(docs, pub(t, c))
			}
			out := Compose(alice, docs)
			got := reparse(t, out)
			if s := summarize(got); !reflect.DeepEqual(s, tc.tuples) {
				t.Errorf("tuples = %v, want %v\n%s", s, tc.tuples, out)
			}
			for _, h := range tc.has {
				if !bytes.Contains(out, []byte(h)) {
					t.Errorf("output lacks %s\n%s", h, out)
				}
			}
			for _, h := range tc.hasNot {
				if bytes.Contains(out, []byte(h)) {
					t.Errorf("output still has %s\n%s", h, out)
				}
			}
			if again := Compose(alice, docs); !bytes.Equal(out, again) {
				t.Errorf("Compose is not deterministic:\n%s\n%s", out, again)
			}
		})
	}
}

func TestCompose_EmptyEqualsClosed(t *testing.T) {
	out := Compose(alice, nil)
	if !bytes.Equal(out, Closed(alice)) {
		t.Fatalf("Compose(nil) = %s, Closed = %s", out, Closed(alice))
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">
<tuple id="closed"><status><basic>closed</basic></status></tuple>
</presence>
`
	if string(out) != want {
		t.Fatalf("Closed =\n%s\nwant\n%s", out, want)
	}
	if !bytes.Equal(Compose(alice, []*Document{nil}), out) {
		t.Fatal("nil documents are not skipped")
	}
}

func TestCompose_RPIDElementsAreByteIdentical(t *testing.T) {
	in := mustParse(t, docRPID)
	out := Compose(in.Entity, []*Document{in})
	got := reparse(t, out)
	byRaw := func(a, b Element) int { return bytes.Compare(a.Raw, b.Raw) }
	for _, els := range [][]Element{got.Others, in.Others, got.Tuples, in.Tuples} {
		slices.SortFunc(els, byRaw) // Compose chooses its own order
	}
	if !reflect.DeepEqual(got.Others, in.Others) || !reflect.DeepEqual(got.Tuples, in.Tuples) {
		t.Fatalf("elements changed:\n%s", out)
	}
	byPrefix := func(a, b Namespace) int { return strings.Compare(a.Prefix, b.Prefix) }
	slices.SortFunc(in.Namespaces, byPrefix)
	if !reflect.DeepEqual(got.Namespaces, in.Namespaces) {
		t.Fatalf("namespaces = %v, want %v", got.Namespaces, in.Namespaces)
	}
}

// The document does not depend on which publication is newer: an agent's
// phone publishing open after the ACD's closed tuple, or before it, gives
// the same bytes, with the open tuple first for phones that read only the
// first <basic>.
func TestCompose_OrderIndependentOpenFirst(t *testing.T) {
	acd := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="`+nsDM+`" xmlns:rpid="`+nsRPID+
		`" xmlns:sb="urn:switchboard:params:xml:ns:acd" entity="sip:alice@example.com">`+tuple("switchboard-acd", "closed")+
		`<dm:person id="switchboard-acd"><rpid:activities><rpid:away/></rpid:activities></dm:person>`+
		`<sb:agent state="away" since="2026-12-06T05:00:00Z"/></presence>`)
	phone := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" `+
		`entity="sip:alice@example.com">`+tuple("t4109", "open")+`<c:display-name id="d">Alice</c:display-name></presence>`)
	a, b := Compose(alice, []*Document{acd, phone}), Compose(alice, []*Document{phone, acd})
	if !bytes.Equal(a, b) {
		t.Fatalf("the order of publications changes the document:\n%s\n%s", a, b)
	}
	if s := summarize(reparse(t, a)); !reflect.DeepEqual(s, []tupleSummary{{"t4109", "open"}, {"switchboard-acd", "closed"}}) {
		t.Fatalf("tuples = %v, want the open one first\n%s", s, a)
	}
}

func TestCompose_ConflictingPrefixesKeepNamespaces(t *testing.T) {
	// The first publication binds the default namespace to an extension and
	// pidf: to PIDF; the second binds the default to PIDF and pidf: to
	// something else. First declarations win on the composed root, so the
	// second's elements need their own bindings re-declared.
	first := mustParse(t, `<pidf:presence xmlns:pidf="urn:ietf:params:xml:ns:pidf" xmlns="urn:example:dflt" `+
		`entity="sip:alice@example.com"><pidf:tuple id="x"><pidf:status><pidf:basic>closed</pidf:basic></pidf:status></pidf:tuple>`+
		`<pidf:note>gone</pidf:note><ext id="e"/></pidf:presence>`)
	second := mustParse(t, `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:pidf="urn:example:not-pidf" xmlns:r="`+nsRPID+
		`" entity="sip:alice@example.com"><tuple id="y"><status><basic>open</basic></status><pidf:x/></tuple>`+
		`<r:activities id="a"><r:away/></r:activities><plain xmlns=""/></presence>`)
	third := pub(t, tuple("z", "open")+personPhone)
	out := Compose(alice, []*Document{first, second, third})
	got := reparse(t, out)
	if s := summarize(got); !reflect.DeepEqual(s, []tupleSummary{{"y", "open"}, {"z", "open"}, {"x", "closed"}}) {
		t.Fatalf("tuples = %v\n%s", s, out)
	}
	var names []string
	for _, e := range append(got.Tuples, got.Others...) {
		names = append(names, e.Space+" "+e.Local)
	}
	want := []string{nsPIDF + " tuple", nsPIDF + " tuple", nsPIDF + " tuple", nsPIDF + " note",
		" plain", "urn:example:dflt ext", nsDM + " person", nsRPID + " activities"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("elements = %q, want %q\n%s", names, want, out)
	}
	for _, frag := range []string{
		`<tuple xmlns="urn:ietf:params:xml:ns:pidf" xmlns:pidf="urn:example:not-pidf" id="y">`,
		`<tuple xmlns="urn:ietf:params:xml:ns:pidf" id="z">`,
		// Elements using no conflicting binding keep their exact bytes.
		personPhone,
		`<r:activities id="a"><r:away/></r:activities>`,
		`<plain xmlns=""/>`,
		`<pidf:presence xmlns="urn:example:dflt" xmlns:dm="` + nsDM + `" xmlns:pidf="urn:ietf:params:xml:ns:pidf" xmlns:r=`,
	} {
		if !bytes.Contains(out, []byte(frag)) {
			t.Errorf("output lacks %s\n%s", frag, out)
		}
	}
}

func TestCompose_EntityIsEscaped(t *testing.T) {
	entity := `sip:a"l&i<ce@example.com`
	out := Compose(entity, nil)
	d, err := ParseDocument(out, entity, Limits{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if d.Entity != entity {
		t.Fatalf("Entity = %q, want %q", d.Entity, entity)
	}
	if !strings.Contains(string(out), `entity="sip:a&#34;l&amp;i&lt;ce@example.com"`) {
		t.Fatalf("entity not escaped:\n%s", out)
	}
}
