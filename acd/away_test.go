package acd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// An agent away for lunch: the supervisor's board says lunch, the agent's
// document publishes the RPID activity meal (a phone's busy lamp reads
// it), and the reason survives a restart; an unknown reason is refused
// and changes nothing; back available, the reason is gone.
func TestAway_ReasonIsPublishedShownAndKept(t *testing.T) {
	cfg := testConfig()
	s, db := newService(t, cfg)
	ctx := context.Background()
	s.SetRegistered(ctx, alice, true)
	if err := s.SetAway(ctx, alice, true, "siesta"); !errors.Is(err, acd.ErrUnknownReason) {
		t.Fatalf("an unknown reason: %v, want ErrUnknownReason", err)
	}
	if got := state(t, s, alice); got != acd.StateAvailable {
		t.Fatalf("after a refused reason: %s, want available", got)
	}
	if err := s.SetAway(ctx, alice, true, "lunch"); err != nil {
		t.Fatal(err)
	}
	away := func(s *acd.Service) string {
		for _, a := range s.Board(time.Now()).Agents {
			if a.URI == alice {
				return a.State + "/" + a.Away
			}
		}
		return ""
	}
	if got := away(s); got != "away/lunch" {
		t.Errorf("board: %s, want away/lunch", got)
	}
	rec := &recorder{docs: map[string]string{}}
	s.SetPublisher(rec)
	done, cancel := context.WithCancel(ctx)
	cancel() // Run publishes one round, then sees ctx done
	s.Run(done)
	if doc := rec.docs[alice]; !strings.Contains(doc, "<rpid:meal/>") {
		t.Errorf("alice's document has no meal activity:\n%s", doc)
	}

	s2, err := acd.New(cfg, nil, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s2.SetRegistered(ctx, alice, true)
	if got := away(s2); got != "away/lunch" {
		t.Errorf("after a restart: %s, want away/lunch", got)
	}
	if err := s2.SetAway(ctx, alice, false, "lunch"); err != nil {
		t.Fatal(err)
	}
	if got := away(s2); got != "available/" {
		t.Errorf("back: %s, want available without a reason", got)
	}
}

func TestConfig_AwayReasonsPublishRPIDActivities(t *testing.T) {
	cfg := testConfig()
	cfg.AwayReasons = append(cfg.AwayReasons, acd.AwayReason{ID: "nap", Name: "Nap", Activity: "napping"})
	if err := cfg.Validate("acd"); err == nil || !strings.Contains(err.Error(), `acd.away_reasons[4].activity: "napping" is not an RPID activity`) {
		t.Errorf("an unknown activity: %v", err)
	}
}
