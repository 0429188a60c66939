package pidf

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// fuzzFixed is composed before the fuzzed document to exercise namespace
// re-declaration: it binds the default namespace and the usual RPID
// prefixes to other URIs, and PIDF to the prefix pidf:.
const fuzzFixed = `<pidf:presence xmlns:pidf="urn:ietf:params:xml:ns:pidf" xmlns="urn:example:fuzz-default" ` +
	`xmlns:dm="urn:example:fuzz-dm" xmlns:rpid="urn:example:fuzz-rpid" entity="sip:fixed@example.com">` +
	`<pidf:tuple id="fixed"><pidf:status><pidf:basic>open</pidf:basic></pidf:status></pidf:tuple>` +
	`<dm:person id="p1"/><note/></pidf:presence>`

func FuzzParseDocument(f *testing.F) {
	for _, s := range []string{docBasic, docRPID, docPrefixed, docNoBasic, docNoTuples, benchDoc, fuzzFixed} {
		f.Add([]byte(s), alice)
	}
	for _, tc := range invalidDocs {
		f.Add([]byte(tc.body), alice)
	}
	f.Add([]byte(docRPID), "pres:alice@example.com;x=y")
	f.Add([]byte(docBasic), "sip:bob@example.com")

	fixed, err := ParseDocument([]byte(fuzzFixed), "sip:fixed@example.com", Limits{})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte, presentity string) {
		doc, err := ParseDocument(body, presentity, Limits{})
		if err != nil {
			if doc != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseDocument = %v, %v", doc, err)
			}
			return
		}
		for _, e := range append(doc.Tuples, doc.Others...) {
			if !bytes.Contains(body, e.Raw) {
				t.Fatalf("Raw %q is not part of the input", e.Raw)
			}
		}
		for _, tu := range doc.Tuples {
			if tu.ID == "" || (tu.Basic != "" && tu.Basic != "open" && tu.Basic != "closed") {
				t.Fatalf("accepted tuple %+v", tu)
			}
		}

		// Compose of the single document re-parses to the same tuples.
		out := Compose(doc.Entity, []*Document{doc})
		got := reparseFuzz(t, out, presentity)
		want := inComposedOrder(summarize(doc))
		if len(want) == 0 {
			want = []tupleSummary{{ClosedTupleID, "closed"}}
		}
		if s := summarize(got); !reflect.DeepEqual(s, want) {
			t.Fatalf("tuples after Compose = %v, want %v\n%s", s, want, out)
		}
		raws := make(map[string]bool)
		for _, e := range append(doc.Tuples, doc.Others...) {
			raws[string(e.Raw)] = true
		}
		for _, e := range got.Others {
			if !raws[string(e.Raw)] {
				t.Fatalf("element %q changed by Compose\n%s", e.Raw, out)
			}
		}

		// Composed after a document with conflicting bindings, every element
		// keeps its resolved name.
		out = Compose(doc.Entity, []*Document{fixed, doc})
		got = reparseFuzz(t, out, presentity)
		want = []tupleSummary{{"fixed", "open"}}
		for _, s := range summarize(doc) {
			if s.ID == "fixed" {
				want[0] = s
			} else {
				want = append(want, s)
			}
		}
		want = inComposedOrder(want)
		if s := summarize(got); !reflect.DeepEqual(s, want) {
			t.Fatalf("tuples after Compose = %v, want %v\n%s", s, want, out)
		}
		keys := make(map[[3]string]bool)
		for _, d := range []*Document{fixed, doc} {
			for _, e := range append(d.Tuples, d.Others...) {
				keys[[3]string{e.Space, e.Local, e.ID}] = true
			}
		}
		for _, e := range append(got.Tuples, got.Others...) {
			if !keys[[3]string{e.Space, e.Local, e.ID}] {
				t.Fatalf("element {%s}%s id=%q not in the inputs\n%s", e.Space, e.Local, e.ID, out)
			}
		}
	})
}

func reparseFuzz(t *testing.T, out []byte, presentity string) *Document {
	t.Helper()
	d, err := ParseDocument(out, presentity, Limits{MaxBytes: len(out)})
	if err != nil {
		t.Fatalf("composed document does not re-parse: %v\n%s", err, out)
	}
	if again := Compose(d.Entity, []*Document{d}); len(again) == 0 {
		t.Fatal("empty Compose output")
	}
	return d
}
