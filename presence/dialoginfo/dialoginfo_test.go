package dialoginfo

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const alice = "sip:alice@example.com"

// rfcExample is the example of RFC 4235 §4.2, as phones and Kamailio's
// pua_dialoginfo publish it.
const rfcExample = `<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:alice@example.com">
  <dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" direction="initiator">
    <state>early</state>
    <local><identity display="Alice">sip:alice@example.com</identity></local>
  </dialog>
</dialog-info>`

func TestParseDocument_RFCExample(t *testing.T) {
	d, err := ParseDocument([]byte(rfcExample), alice, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Dialog{{ID: "as7d900as8", CallID: "a84b4c76e66710", LocalTag: "1928301774", Direction: Initiator, State: Early}}
	if d.Version != 1 || !reflect.DeepEqual(d.Dialogs, want) {
		t.Fatalf("got %+v", d)
	}
}

func TestParseDocument_Refusals(t *testing.T) {
	doc := func(attrs, body string) string {
		return `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" ` + attrs + `>` + body + `</dialog-info>`
	}
	full := `version="0" state="full" entity="sip:alice@example.com"`
	for name, tc := range map[string]struct{ body, reason string }{
		"not XML":         {"hello", "malformed XML"},
		"DTD":             {`<!DOCTYPE x [<!ENTITY a "b">]>` + doc(full, ""), "DTD not allowed"},
		"PIDF":            {`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`, "root is not dialog-info"},
		"no namespace":    {`<dialog-info version="0" state="full" entity="sip:alice@example.com"/>`, "root is not dialog-info"},
		"partial":         {doc(`version="0" state="partial" entity="sip:alice@example.com"`, ""), "partial state"},
		"no version":      {doc(`state="full" entity="sip:alice@example.com"`, ""), "version"},
		"other entity":    {doc(`version="0" state="full" entity="sip:bob@example.com"`, ""), "entity"},
		"dialog no id":    {doc(full, `<dialog><state>early</state></dialog>`), "dialog without id"},
		"dialog twice":    {doc(full, `<dialog id="a"><state>early</state></dialog><dialog id="a"><state>early</state></dialog>`), "repeated"},
		"unknown state":   {doc(full, `<dialog id="a"><state>ringing</state></dialog>`), "unknown dialog state"},
		"bad direction":   {doc(full, `<dialog id="a" direction="inbound"><state>early</state></dialog>`), "direction"},
		"too deep":        {doc(full, strings.Repeat("<x>", 20)+strings.Repeat("</x>", 20)), "nested too deep"},
		"too many":        {doc(full, strings.Repeat(`<dialog id="a"><state>early</state></dialog>`, 65)), "over 64 dialogs"},
		"processing inst": {`<?php x ?>` + doc(full, ""), "processing instruction"},
	} {
		_, err := ParseDocument([]byte(tc.body), alice, Limits{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v, want ErrInvalid with %q", name, err, tc.reason)
		}
	}
	if _, err := ParseDocument([]byte(rfcExample), alice, Limits{MaxBytes: 100}); !errors.Is(err, ErrInvalid) {
		t.Errorf("over MaxBytes: %v", err)
	}
}

// Composition: the newest publication wins a dialog, live dialogs come
// first, the order of publications changes no byte, and version is 0
// until WithVersion stamps it.
func TestCompose(t *testing.T) {
	older := &Document{Dialogs: []Dialog{{ID: "b", State: Confirmed}, {ID: "a", State: Early}}}
	newer := &Document{Dialogs: []Dialog{{ID: "a", State: Terminated}, {ID: "c", State: Trying}}}
	out := Compose(alice, []*Document{older, newer})
	got, err := ParseDocument(out, alice, Limits{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []Dialog{{ID: "b", State: Confirmed}, {ID: "c", State: Trying}, {ID: "a", State: Terminated}}
	if got.Version != 0 || !reflect.DeepEqual(got.Dialogs, want) {
		t.Fatalf("composed %+v\n%s", got, out)
	}
	stamped, err := ParseDocument(WithVersion(out, 7), alice, Limits{})
	if err != nil || stamped.Version != 7 || !reflect.DeepEqual(stamped.Dialogs, want) {
		t.Fatalf("stamped: %+v %v", stamped, err)
	}
	if empty := Compose(alice, nil); !bytes.Contains(empty, []byte(`state="full" entity="sip:alice@example.com">`)) ||
		bytes.Contains(empty, []byte("<dialog ")) {
		t.Fatalf("no publication:\n%s", empty)
	}
	same := Compose(alice, []*Document{{Dialogs: []Dialog{{ID: "x", State: Early}, {ID: "y", State: Early}}}})
	again := Compose(alice, []*Document{{Dialogs: []Dialog{{ID: "y", State: Early}, {ID: "x", State: Early}}}})
	if !bytes.Equal(same, again) {
		t.Fatalf("order of dialogs changes the document:\n%s\n%s", same, again)
	}
}

// What Switchboard sends validates against the RFC 4235 schema (xmllint,
// Debian's libxml2-utils, installed by make deps).
func TestRender_ValidatesAgainstTheSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is missing: `make deps` installs it")
		}
		t.Skip("xmllint is missing: `make deps` installs it")
	}
	docs := map[string][]byte{
		"empty.xml": WithVersion(Compose(alice, nil), 0),
		"calls.xml": WithVersion(Compose(`sip:a"l&ice@example.com`, []*Document{{Dialogs: []Dialog{
			{ID: "call-1", Direction: Recipient, State: Confirmed},
			{ID: "call<2>", CallID: "c@h", LocalTag: "l", RemoteTag: "r", Direction: Initiator, State: Early},
			{ID: "call-3", State: Terminated},
		}}}), 41),
		"rfc.xml": []byte(rfcExample),
	}
	dir := t.TempDir()
	for name, doc := range docs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("testdata", "dialog-info.xsd"), path).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate: %v\n%s\n%s", name, err, out, doc)
		}
	}
}

// FuzzParseDocument: anything gets a document or ErrInvalid, never a
// panic; an accepted document, composed, parses back to the same dialogs.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(rfcExample))
	f.Add(Compose(alice, []*Document{{Dialogs: []Dialog{{ID: "a", Direction: Recipient, State: Confirmed}}}}))
	f.Add([]byte(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:alice@example.com"><dialog id="&amp;"><state> early </state></dialog></dialog-info>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDocument(body, alice, Limits{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		out := Compose(alice, []*Document{d})
		back, err := ParseDocument(out, alice, Limits{MaxBytes: len(out)})
		if err != nil {
			t.Fatalf("composed document does not parse: %v\n%s", err, out)
		}
		if len(back.Dialogs) != len(d.Dialogs) {
			t.Fatalf("%d dialogs, then %d\n%s", len(d.Dialogs), len(back.Dialogs), out)
		}
	})
}
