package location_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/location"
)

func TestApply_AnotherNodesBindingsAreLookedUpAndObserved(t *testing.T) {
	svc, db := open(t, filepath.Join(t.TempDir(), "l.db"))
	defer db.Close()
	var seen []bool
	svc.Observe(func(a string, live bool) {
		if a == aor {
			seen = append(seen, live)
		}
	})
	b := location.Binding{AOR: aor, Contact: "sip:alice@192.0.2.1:5060", Expires: time.Now().Add(time.Hour), CallID: "c1", CSeq: 1}
	gone := b
	gone.Contact, gone.Expires = "sip:alice@192.0.2.9:5060", time.Now().Add(-time.Second)

	svc.Apply(aor, []location.Binding{b, gone})
	if got := svc.Lookup(aor); len(got) != 1 || got[0].Contact != b.Contact {
		t.Fatalf("after Apply, Lookup = %+v; want the live binding only", got)
	}
	svc.Replay()
	svc.Apply(aor, nil)
	if got := svc.Lookup(aor); len(got) != 0 {
		t.Fatalf("after Apply of none, Lookup = %+v", got)
	}
	svc.Replay() // nothing live: nothing told
	if want := []bool{true, true, false}; !slices.Equal(seen, want) {
		t.Fatalf("observer saw %v, want %v (applied, replayed, removed)", seen, want)
	}
}
