package calls_test

import (
	"context"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/calls"
)

// softphones is a stand-in for the browser softphones: agents in up are
// connected, and a ring there answers at once.
type softphones struct {
	up    map[string]bool
	rung  []string
	texts []string
}

func (s *softphones) Message(_ context.Context, agent, _, _, text string) error {
	s.texts = append(s.texts, agent+": "+text)
	return nil
}

func (s *softphones) Composing(context.Context, string, string, bool) error { return nil }

func (s *softphones) Connected(agent string) bool { return s.up[agent] }

func (s *softphones) Dial(_ context.Context, agent string, _ calls.Offer, _ calls.LegHandler) (calls.Leg, error) {
	s.rung = append(s.rung, agent)
	return leg{answer: "v=0 softphone"}, nil
}

// An agent with a softphone connected is rung there, any other at its SIP
// phone; the phone is not rung for an agent the softphone took.
func TestDevices_SoftphoneWhileConnectedElseSIPPhone(t *testing.T) {
	soft := &softphones{up: map[string]bool{alice: true}}
	sip := &phones{scripts: map[string][]string{alice: {answers}, carol: {answers}}, legs: map[string]calls.LegHandler{}}
	d := calls.Devices{Softphones: soft, Phones: sip}
	ctx := context.Background()
	for _, agent := range []string{alice, carol} {
		if _, err := d.Dial(ctx, agent, calls.Offer{}, nil); err != nil {
			t.Fatalf("dial %s: %v", agent, err)
		}
	}
	soft.up[alice] = false
	if _, err := d.Dial(ctx, alice, calls.Offer{}, nil); err != nil {
		t.Fatalf("dial alice without softphone: %v", err)
	}
	if !slices.Equal(soft.rung, []string{alice}) || !slices.Equal(sip.calledInOrder(), []string{carol, alice}) {
		t.Errorf("softphones rung %v, SIP phones %v; want [alice] and [carol alice]", soft.rung, sip.calledInOrder())
	}
	// Without softphones at all (the ACD role without media), only phones.
	if _, err := (calls.Devices{Phones: sip}).Dial(ctx, carol, calls.Offer{}, nil); err != nil {
		t.Fatal(err)
	}

	// Chat text goes the same way: the console while connected.
	soft.up[alice] = true
	for _, agent := range []string{alice, carol} {
		if err := d.Message(ctx, agent, "c1", "Web visitor", "hello "+agent); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(soft.texts, []string{alice + ": hello " + alice}) || !slices.Equal(sip.texts, []string{carol + ": hello " + carol}) {
		t.Errorf("texts to softphones %v, to phones %v", soft.texts, sip.texts)
	}
}
