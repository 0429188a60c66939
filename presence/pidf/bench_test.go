package pidf

import "testing"

// benchDoc is a typical RPID publication from a softphone (about 600 bytes).
const benchDoc = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
 xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
 xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
 entity="sip:alice@example.com">
 <tuple id="t8a3f">
  <status><basic>open</basic></status>
  <dm:deviceID>urn:uuid:0c1e3f4a</dm:deviceID>
  <contact>sip:alice@192.0.2.10:5060</contact>
 </tuple>
 <dm:person id="p1">
  <rpid:activities><rpid:on-the-phone/></rpid:activities>
  <rpid:place-type><rpid:office/></rpid:place-type>
  <dm:note>In a call</dm:note>
 </dm:person>
 <dm:device id="d1"><dm:deviceID>urn:uuid:0c1e3f4a</dm:deviceID></dm:device>
</presence>`

func BenchmarkParseDocument(b *testing.B) {
	body := []byte(benchDoc)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDocument(body, alice, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompose(b *testing.B) {
	// Two devices of one presentity, the newer replacing the person element.
	d1 := mustParse(b, benchDoc)
	d2 := pub(b, tuple("phone", "open")+personAway)
	docs := []*Document{d1, d2}
	b.ReportAllocs()
	for b.Loop() {
		if out := Compose(alice, docs); len(out) == 0 {
			b.Fatal("empty output")
		}
	}
}
