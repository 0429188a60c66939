package pidf

import (
	"cmp"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

const alice = "sip:alice@example.com"

// Documents shared by the table tests, the fuzz seeds and the benchmarks.
const (
	docBasic = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">
  <tuple id="t1">
    <status><basic>open</basic></status>
    <contact priority="0.8">sip:alice@192.0.2.1</contact>
  </tuple>
</presence>`

	docRPID = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="pres:alice@example.com">
  <tuple id="a8098a">
    <status><basic>open</basic></status>
    <dm:deviceID>mac:8asd7d7d70</dm:deviceID>
    <contact>sip:alice@192.0.2.1;transport=tcp</contact>
    <timestamp>2025-11-28T15:40:00Z</timestamp>
  </tuple>
  <note>Back at 5</note>
  <dm:person id="p1">
    <rpid:activities><rpid:on-the-phone/></rpid:activities>
    <rpid:place-type><rpid:office/></rpid:place-type>
    <dm:note xml:lang="en">On a call &amp; busy</dm:note>
  </dm:person>
  <dm:device id="pc122"><dm:deviceID>mac:8asd7d7d70</dm:deviceID></dm:device>
</presence>`

	docPrefixed = `<pidf:presence xmlns:pidf="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><pidf:tuple id="x"><pidf:status><pidf:basic>
 closed </pidf:basic></pidf:status></pidf:tuple><pidf:note>gone</pidf:note></pidf:presence>`

	docNoBasic = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:e="urn:example:ext" entity="sips:alice@EXAMPLE.com;transport=tls"><tuple id="e1"><status><e:mood>happy</e:mood></status></tuple></presence>`

	docNoTuples = "\xef\xbb\xbf<?xml version='1.0'?><!-- hi --><presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:%61lice@example.com'><note>only a note</note></presence>\n"
)

// invalidDocs maps a reason phrase to a document that must be rejected with
// it when parsed for alice with default limits.
var invalidDocs = []struct {
	name, reason, body string
}{
	{"Unclosed", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a">`},
	{"MismatchedTag", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"></tuple>`},
	{"Empty", "malformed XML", ``},
	{"UnknownEntityRef", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><note>&nbsp;</note></presence>`},
	{"UndeclaredPrefix", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><dm:person id="p"/></presence>`},
	{"DuplicateAttribute", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com" entity="sip:alice@example.com"/>`},
	{"TwoRoots", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/><presence/>`},
	{"TextAfterRoot", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>trailing`},
	{"LateXMLDecl", "malformed XML", ` <?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`},
	{"EmptyPrefixBinding", "malformed XML", `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:p="" entity="sip:alice@example.com"/>`},
	{"NotUTF8", "malformed XML", "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@example.com\"><note>\xff</note></presence>"},
	{"DTD", "DTD not allowed", `<!DOCTYPE presence [<!ENTITY x "boom">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`},
	{"WrongRootNamespace", "root element is not presence", `<presence xmlns="urn:example:other" entity="sip:alice@example.com"/>`},
	{"WrongRootName", "root element is not presence", `<tuple xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`},
	{"NoEntity", "missing entity", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`},
	{"OtherEntity", "entity does not match presentity", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.com"/>`},
	{"EntityUserCase", "entity does not match presentity", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:Alice@example.com"/>`},
	{"TupleWithoutID", "tuple without id", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple><status><basic>open</basic></status></tuple></presence>`},
	{"TupleEmptyID", "tuple without id", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id=""><status/></tuple></presence>`},
	{"DuplicateTupleID", "duplicate tuple id", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status/></tuple><tuple id="a"><status/></tuple></presence>`},
	{"TupleWithoutStatus", "tuple without status", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><contact>sip:a@b</contact></tuple></presence>`},
	{"StatusInOtherNamespace", "tuple without status", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status xmlns="urn:x"/></tuple></presence>`},
	{"TwoStatuses", "tuple with more than one status", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status/><status/></tuple></presence>`},
	{"TwoBasics", "status with more than one basic", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status><basic>open</basic><basic>open</basic></status></tuple></presence>`},
	{"BasicBusy", "basic status must be open or closed", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status><basic>busy</basic></status></tuple></presence>`},
	{"BasicUpperCase", "basic status must be open or closed", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status><basic>OPEN</basic></status></tuple></presence>`},
	{"BasicEmpty", "basic status must be open or closed", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status><basic/></status></tuple></presence>`},
	{"BasicWithChild", "basic status must be open or closed", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="a"><status><basic>open<b/></basic></status></tuple></presence>`},
}

type tupleSummary struct{ ID, Basic string }

func summarize(d *Document) []tupleSummary {
	var out []tupleSummary
	for _, t := range d.Tuples {
		out = append(out, tupleSummary{t.ID, t.Basic})
	}
	return out
}

// inComposedOrder sorts tuples as Compose writes them: open, closed, then
// without status, each by ID.
func inComposedOrder(s []tupleSummary) []tupleSummary {
	slices.SortStableFunc(s, func(a, b tupleSummary) int {
		return cmp.Or(cmp.Compare(basicRank(a.Basic), basicRank(b.Basic)), strings.Compare(a.ID, b.ID))
	})
	return s
}

func TestParseDocument_ValidDocuments(t *testing.T) {
	tests := []struct {
		name, body string
		entity     string
		tuples     []tupleSummary
		others     []string // "space local id"
		namespaces []Namespace
	}{
		{"BasicTuple", docBasic, "sip:alice@example.com",
			[]tupleSummary{{"t1", "open"}}, nil,
			[]Namespace{{"", nsPIDF}}},
		{"RPIDPersonWithPresEntity", docRPID, "pres:alice@example.com",
			[]tupleSummary{{"a8098a", "open"}},
			[]string{
				"urn:ietf:params:xml:ns:pidf note ",
				"urn:ietf:params:xml:ns:pidf:data-model person p1",
				"urn:ietf:params:xml:ns:pidf:data-model device pc122",
			},
			[]Namespace{{"", nsPIDF}, {"dm", "urn:ietf:params:xml:ns:pidf:data-model"}, {"rpid", "urn:ietf:params:xml:ns:pidf:rpid"}}},
		{"PrefixedNamespace", docPrefixed, "sip:alice@example.com",
			[]tupleSummary{{"x", "closed"}},
			[]string{"urn:ietf:params:xml:ns:pidf note "},
			[]Namespace{{"pidf", nsPIDF}}},
		{"StatusWithoutBasic", docNoBasic, "sips:alice@EXAMPLE.com;transport=tls",
			[]tupleSummary{{"e1", ""}}, nil,
			[]Namespace{{"", nsPIDF}, {"e", "urn:example:ext"}}},
		{"NoTuplesWithBOM", docNoTuples, "sip:%61lice@example.com",
			nil, []string{"urn:ietf:params:xml:ns:pidf note "},
			[]Namespace{{"", nsPIDF}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := ParseDocument([]byte(tc.body), alice, Limits{})
			if err != nil {
				t.Fatalf("ParseDocument: %v", err)
			}
			if doc.Entity != tc.entity {
				t.Errorf("Entity = %q, want %q", doc.Entity, tc.entity)
			}
			if got := summarize(doc); !reflect.DeepEqual(got, tc.tuples) {
				t.Errorf("tuples = %v, want %v", got, tc.tuples)
			}
			var others []string
			for _, o := range doc.Others {
				others = append(others, o.Space+" "+o.Local+" "+o.ID)
			}
			if !reflect.DeepEqual(others, tc.others) {
				t.Errorf("others = %q, want %q", others, tc.others)
			}
			if !reflect.DeepEqual(doc.Namespaces, tc.namespaces) {
				t.Errorf("namespaces = %v, want %v", doc.Namespaces, tc.namespaces)
			}
			for _, e := range append(doc.Tuples, doc.Others...) {
				if !strings.Contains(tc.body, string(e.Raw)) || !strings.HasPrefix(string(e.Raw), "<") || !strings.HasSuffix(string(e.Raw), ">") {
					t.Errorf("Raw %q is not an element slice of the input", e.Raw)
				}
			}
		})
	}
}

// Raw holds an element's exact input bytes, body's own rather than a copy:
// a presence server keeps one copy of every published document.
func TestParseDocument_RawIsVerbatimAndShared(t *testing.T) {
	body := []byte(docRPID)
	doc, err := ParseDocument(body, alice, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := "<dm:person id=\"p1\">\n    <rpid:activities><rpid:on-the-phone/></rpid:activities>\n" +
		"    <rpid:place-type><rpid:office/></rpid:place-type>\n" +
		"    <dm:note xml:lang=\"en\">On a call &amp; busy</dm:note>\n  </dm:person>"
	if got := string(doc.Others[1].Raw); got != want {
		t.Fatalf("person Raw =\n%s\nwant\n%s", got, want)
	}
	raw := doc.Others[1].Raw
	start := uintptr(unsafe.Pointer(&body[0]))
	if p := uintptr(unsafe.Pointer(&raw[0])); p < start || p >= start+uintptr(len(body)) {
		t.Fatal("Raw is a copy of the body's bytes")
	}
}

func TestParseDocument_InvalidDocuments(t *testing.T) {
	for _, tc := range invalidDocs {
		t.Run(tc.name+"IsInvalid", func(t *testing.T) {
			checkInvalid(t, tc.body, Limits{}, tc.reason)
		})
	}
}

func TestParseDocument_TooLargeIsInvalid(t *testing.T) {
	checkInvalid(t, docBasic, Limits{MaxBytes: len(docBasic) - 1}, "document too large")
	big := "<!--" + strings.Repeat("x", DefaultMaxBytes) + "-->" + docBasic
	checkInvalid(t, big, Limits{}, "document too large")
	if _, err := ParseDocument([]byte(docBasic), alice, Limits{MaxBytes: len(docBasic)}); err != nil {
		t.Fatalf("document at the limit: %v", err)
	}
}

func TestParseDocument_NestedTooDeeplyIsInvalid(t *testing.T) {
	// docBasic nests presence/tuple/status/basic: depth 4.
	checkInvalid(t, docBasic, Limits{MaxDepth: 3}, "document nested too deeply")
	if _, err := ParseDocument([]byte(docBasic), alice, Limits{MaxDepth: 4}); err != nil {
		t.Fatalf("depth at the limit: %v", err)
	}
	deep := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">` +
		strings.Repeat("<note>", DefaultMaxDepth) + strings.Repeat("</note>", DefaultMaxDepth) + `</presence>`
	checkInvalid(t, deep, Limits{}, "document nested too deeply")
}

func checkInvalid(t *testing.T, body string, lim Limits, reason string) {
	t.Helper()
	doc, err := ParseDocument([]byte(body), alice, lim)
	if err == nil {
		t.Fatalf("ParseDocument accepted %q: %+v", body, doc)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not wrap ErrInvalid", err)
	}
	if want := "invalid PIDF: " + reason; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// Decode reads an element with the root's prefixes in scope, and Persons
// the RPID activities of every <dm:person>, whatever prefixes they use.
func TestDocument_DecodeAndPersons(t *testing.T) {
	body := `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ` +
		`xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:x="urn:example:ext" entity="sip:alice@example.com">` +
		`<tuple id="t"><status><basic>open</basic></status></tuple>` +
		`<dm:person id="a"><rpid:activities><rpid:meal/><rpid:away/></rpid:activities></dm:person>` +
		`<p:person xmlns:p="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" id="b">` +
		`<r:activities><r:on-the-phone/></r:activities></p:person>` +
		`<x:thing n="3"><x:v>7</x:v></x:thing></presence>`
	d, err := ParseDocument([]byte(body), "sip:alice@example.com", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Persons()
	want := []Person{{ID: "a", Activities: []string{"meal", "away"}}, {ID: "b", Activities: []string{"on-the-phone"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("persons %+v, want %+v", got, want)
	}
	var thing struct {
		N string `xml:"n,attr"`
		V int    `xml:"urn:example:ext v"`
	}
	if err := d.Decode(d.Others[len(d.Others)-1], &thing); err != nil || thing.N != "3" || thing.V != 7 {
		t.Fatalf("decoded %+v, %v", thing, err)
	}
}
