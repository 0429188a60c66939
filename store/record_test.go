package store

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/presence"
)

var (
	samplePublication = presence.Publication{Presentity: "sip:alice@example.com", Event: "presence", ETag: "e1",
		Expires: time.Unix(1_800_000_000, 123).UTC(), ContentType: "application/pidf+xml", Body: []byte("<presence/>"), Seq: 42}
	sampleSubscription = presence.Subscription{ID: "d1", Presentity: "sip:alice@example.com", Event: "dialog",
		Watcher: "sip:bob@example.com", Expires: time.Unix(1_800_000_000, 0), SeqReserved: 1 << 40, Dialog: []byte(`{"call_id":"x"}`)}
)

// sameTimes lets reflect.DeepEqual compare records whose times are
// equal instants in different locations.
func sameTimes(a, b *time.Time) {
	if a.Equal(*b) {
		*b = *a
	}
}

func TestRecord_PublicationRoundTrip(t *testing.T) {
	for _, p := range []presence.Publication{samplePublication, {Presentity: "sip:a@b", ETag: "x"}} {
		got, err := DecodePublication(EncodePublication(p))
		if err != nil {
			t.Fatal(err)
		}
		sameTimes(&p.Expires, &got.Expires)
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
		}
	}
}

func TestRecord_SubscriptionRoundTrip(t *testing.T) {
	for _, s := range []presence.Subscription{sampleSubscription, {ID: "only"}} {
		got, err := DecodeSubscription(EncodeSubscription(s))
		if err != nil {
			t.Fatal(err)
		}
		sameTimes(&s.Expires, &got.Expires)
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
		}
	}
}

// Records an earlier release wrote in JSON are still loaded, beside the
// binary ones written now.
func TestRecord_JSONOfEarlierReleasesStillLoads(t *testing.T) {
	db, err := Open(Config{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := samplePublication
	s := sampleSubscription
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		if err := put(tx, bucketPublications, publicationKey(p.Presentity, "old"), publicationRecord{V: 1,
			Presentity: p.Presentity, ETag: "old", Expires: p.Expires, ContentType: p.ContentType, Body: p.Body, Seq: 7}); err != nil {
			return err
		}
		return put(tx, bucketSubscriptions, []byte("old"), subscriptionRecord{V: 1, ID: "old", Presentity: s.Presentity,
			Watcher: s.Watcher, Expires: s.Expires, SeqReserved: 9, Dialog: s.Dialog})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.PutPublication(ctx, p, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.PutSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	var pubs []presence.Publication
	db.LoadPublications(ctx, func(p presence.Publication) error { pubs = append(pubs, p); return nil })
	var subs []presence.Subscription
	db.LoadSubscriptions(ctx, func(s presence.Subscription) error { subs = append(subs, s); return nil })
	if len(pubs) != 2 || pubs[0].ETag != "e1" || pubs[1].ETag != "old" || pubs[1].Seq != 7 || !bytes.Equal(pubs[1].Body, p.Body) {
		t.Fatalf("publications: %+v", pubs)
	}
	if len(subs) != 2 || subs[0].ID != "d1" || subs[1].ID != "old" || subs[1].SeqReserved != 9 || !subs[1].Expires.Equal(s.Expires) {
		t.Fatalf("subscriptions: %+v", subs)
	}
}

// A bindings record written before bindings had a Path loads with none;
// one with a Path keeps it.
func TestRecord_BindingsWithAndWithoutPath(t *testing.T) {
	old := `{"v":1,"bindings":[{"aor":"sip:alice@example.com","contact":"sip:alice@192.0.2.1",` +
		`"expires":"2027-01-15T08:00:00Z","call_id":"c","cseq":1,"source":"192.0.2.1:5060","transport":"UDP"}]}`
	bs, err := DecodeBindings([]byte(old))
	if err != nil || len(bs) != 1 || bs[0].Contact != "sip:alice@192.0.2.1" || bs[0].Path != nil {
		t.Fatalf("record without path: %+v, %v", bs, err)
	}
	bs[0].Path = []string{"<sip:192.0.2.10;lr>", "<sip:192.0.2.11;lr>"}
	rec, err := EncodeBindings(bs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBindings(rec)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Path, bs[0].Path) {
		t.Fatalf("record with path: %+v, %v", got, err)
	}
}

// A record that is cut short, or has bytes past its last field, is an
// error naming its bucket and key, never a panic or a half record.
func TestRecord_DamagedRecordsAreErrors(t *testing.T) {
	good := EncodePublication(samplePublication)
	for _, v := range [][]byte{nil, {recordBinary}, good[:len(good)-1], append(bytes.Clone(good), 0), {9, 1, 2}} {
		if p, err := DecodePublication(v); err == nil {
			t.Errorf("DecodePublication(%q) = %+v, want an error", v, p)
		}
	}
}

// FuzzDecodeRecord: whatever the bytes, decoding returns a record or an
// error, and a record decoded from the binary format encodes to bytes that
// decode to the same record.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodePublication(samplePublication))
	f.Add(EncodeSubscription(sampleSubscription))
	old, _ := json.Marshal(publicationRecord{V: 1, Presentity: "sip:a@b", Body: []byte("x")})
	f.Add(old)
	f.Fuzz(func(t *testing.T, v []byte) {
		if p, err := DecodePublication(v); err == nil && v[0] == recordBinary {
			again, err := DecodePublication(EncodePublication(p))
			sameTimes(&p.Expires, &again.Expires)
			if err != nil || !reflect.DeepEqual(again, p) {
				t.Fatalf("publication %+v came back as %+v, %v", p, again, err)
			}
		}
		if s, err := DecodeSubscription(v); err == nil && v[0] == recordBinary {
			again, err := DecodeSubscription(EncodeSubscription(s))
			sameTimes(&s.Expires, &again.Expires)
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("subscription %+v came back as %+v, %v", s, again, err)
			}
		}
	})
}
