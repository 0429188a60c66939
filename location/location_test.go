package location_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/store"
)

const aor = "sip:alice@example.com"

func open(t *testing.T, path string) (*location.Service, *store.DB) {
	t.Helper()
	db, err := store.Open(store.Config{Path: path, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc := location.New(location.DefaultConfig(), db)
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, db
}

func d(v time.Duration) *time.Duration { return &v }

func TestRegister_Rules(t *testing.T) {
	svc, db := open(t, filepath.Join(t.TempDir(), "l.db"))
	defer db.Close()
	ctx := context.Background()
	reg := func(cseq uint32, contacts []location.Contact, wildcard bool) ([]location.Binding, error) {
		return svc.Register(ctx, location.Request{AOR: aor, CallID: "c1", CSeq: cseq, Contacts: contacts, Wildcard: wildcard})
	}
	phone := location.Contact{URI: "sip:alice@192.0.2.1:5060", Expires: d(time.Hour)}
	desk := location.Contact{URI: "sip:alice@192.0.2.2:5060", Expires: d(3 * time.Hour)}

	bs, err := reg(1, []location.Contact{phone, desk}, false)
	if err != nil || len(bs) != 2 || time.Until(bs[1].Expires) > 2*time.Hour+time.Second {
		t.Fatalf("two contacts, the second cut to max: %v %v", bs, err)
	}
	if _, err := reg(1, []location.Contact{phone}, false); !errors.Is(err, location.ErrOutOfOrder) {
		t.Fatalf("same CSeq again: %v, want ErrOutOfOrder", err)
	}
	var brief *location.IntervalTooBriefError
	if _, err := reg(2, []location.Contact{{URI: phone.URI, Expires: d(time.Second)}}, false); !errors.As(err, &brief) {
		t.Fatalf("too brief: %v", err)
	}
	if bs, _ := reg(3, nil, false); len(bs) != 2 {
		t.Fatalf("query: %d bindings", len(bs))
	}
	if bs, _ := reg(4, []location.Contact{{URI: phone.URI, Expires: d(0)}}, false); len(bs) != 1 {
		t.Fatalf("remove one: %d left", len(bs))
	}
	if _, err := reg(5, []location.Contact{phone}, true); !errors.Is(err, location.ErrWildcard) {
		t.Fatalf("wildcard with a contact: %v", err)
	}
	if _, err := reg(6, nil, true); err != nil || len(svc.Lookup(aor)) != 0 {
		t.Fatalf("wildcard: %v, %d left", err, len(svc.Lookup(aor)))
	}
}

func TestLookup_ExpiredBindingsVanish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, db := open(t, filepath.Join(t.TempDir(), "l.db"))
		defer db.Close()
		svc.Register(context.Background(), location.Request{AOR: aor, CallID: "c", CSeq: 1,
			Contacts: []location.Contact{{URI: "sip:alice@192.0.2.1", Expires: d(time.Minute)}}})
		if len(svc.Lookup(aor)) != 1 {
			t.Fatal("binding missing")
		}
		time.Sleep(time.Minute)
		if len(svc.Lookup(aor)) != 0 {
			t.Fatal("binding outlived its expiry")
		}
	})
}

func TestLoad_BindingsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	svc, db := open(t, path)
	proxies := []string{"<sip:192.0.2.10;lr>", "<sip:192.0.2.11;lr>"}
	svc.Register(context.Background(), location.Request{AOR: aor, CallID: "c", CSeq: 1, Path: proxies,
		Contacts: []location.Contact{{URI: "sip:alice@192.0.2.1", Expires: d(time.Hour)}}})
	db.Close()
	svc, db = open(t, path)
	defer db.Close()
	bs := svc.Lookup(aor)
	if len(bs) != 1 {
		t.Fatal("binding lost on reopen")
	}
	if !slices.Equal(bs[0].Path, proxies) {
		t.Fatalf("path after reopen: %q, want %q", bs[0].Path, proxies)
	}
}
