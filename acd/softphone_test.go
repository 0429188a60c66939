package acd_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/acd"
)

// A browser softphone is a device like a registered phone: either keeps
// the agent online, and only when both are gone is it offline.
func TestAgent_SoftphoneCountsAsADevice(t *testing.T) {
	s, _ := newService(t, testConfig())
	ctx := context.Background()
	if err := s.SetAway(ctx, alice, false, ""); !errors.Is(err, acd.ErrOffline) {
		t.Fatalf("available without any device: %v, want ErrOffline", err)
	}
	steps := []struct {
		name string
		do   func()
		want acd.State
	}{
		{"softphone connected", func() { s.SetSoftphone(ctx, alice, true) }, acd.StateAvailable},
		{"phone registered too", func() { s.SetRegistered(ctx, alice, true) }, acd.StateAvailable},
		{"registration lapsed, softphone still up", func() { s.SetRegistered(ctx, alice, false) }, acd.StateAvailable},
		{"softphone gone", func() { s.SetSoftphone(ctx, alice, false) }, acd.StateOffline},
		{"softphone back", func() { s.SetSoftphone(ctx, alice, true) }, acd.StateAvailable},
	}
	for _, st := range steps {
		st.do()
		if got := state(t, s, alice); got != st.want {
			t.Fatalf("%s: %s, want %s", st.name, got, st.want)
		}
	}
	if err := s.SetAway(ctx, alice, false, ""); err != nil {
		t.Fatalf("available with a softphone: %v", err)
	}
}
