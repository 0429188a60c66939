package pidf

import (
	"errors"
	"slices"
	"testing"
)

const nsTest = "urn:example:test"

// What a Writer writes is valid PIDF that ParseDocument accepts and reads
// back: tuples, persons with their RPID activities, extension elements
// with their attributes and text, whatever characters the values hold.
func TestWriter_WritesWhatParseDocumentReadsBack(t *testing.T) {
	const entity = `sip:a&b"<c>@example.com`
	for _, tc := range []struct {
		name string
		ns   []Namespace
	}{
		{"root declares every namespace", []Namespace{{"dm", NamespaceDataModel}, {"rpid", NamespaceRPID}, {"x", nsTest}}},
		{"person declares its own", []Namespace{{"x", nsTest}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter(entity, tc.ns...)
			w.Tuple("t1", "open")
			w.Tuple("t'2", "closed")
			w.Person("p1", "on-the-phone", "away")
			w.Person("p2")
			w.Start(nsTest, "group", "id", `g"1`, "note", "a<b&c")
			w.Element(nsTest, "name", "Ventes & <après-vente>")
			w.EmptyElement(nsTest, "flag", "on", "yes")
			body := w.Bytes()
			doc, err := ParseDocument(body, entity, Limits{})
			if err != nil {
				t.Fatalf("%v", err)
			}
			if doc.Entity != entity || len(doc.Tuples) != 2 || doc.Tuples[0].Basic != "open" ||
				doc.Tuples[1].ID != "t'2" || doc.Tuples[1].Basic != "closed" {
				t.Fatalf("entity %q, tuples %+v", doc.Entity, doc.Tuples)
			}
			ps := doc.Persons()
			if len(ps) != 2 || ps[0].ID != "p1" || !slices.Equal(ps[0].Activities, []string{"on-the-phone", "away"}) || len(ps[1].Activities) != 0 {
				t.Fatalf("persons %+v", ps)
			}
			i := slices.IndexFunc(doc.Others, func(el Element) bool { return el.Space == nsTest && el.Local == "group" })
			var g struct {
				ID   string `xml:"id,attr"`
				Note string `xml:"note,attr"`
				Name string `xml:"urn:example:test name"`
				Flag struct {
					On string `xml:"on,attr"`
				} `xml:"urn:example:test flag"`
			}
			if i < 0 || doc.Decode(doc.Others[i], &g) != nil {
				t.Fatalf("no group element in %s", body)
			}
			if g.ID != `g"1` || g.Note != "a<b&c" || g.Name != "Ventes & <après-vente>" || g.Flag.On != "yes" {
				t.Fatalf("group read back as %+v", g)
			}
		})
	}
}

func TestWriter_UndeclaredExtensionNamespacePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an undeclared namespace")
		}
	}()
	NewWriter("sip:a@example.com").Element(nsTest, "x", "")
}

// A tuple id ParseDocument refuses stays refused: the Writer escapes, it
// does not validate.
func TestWriter_DoesNotHideInvalidValues(t *testing.T) {
	w := NewWriter("sip:a@example.com")
	w.Tuple("", "open")
	if _, err := ParseDocument(w.Bytes(), "sip:a@example.com", Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a tuple without id: %v", err)
	}
}
