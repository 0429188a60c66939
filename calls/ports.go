package calls

import (
	"context"
	"errors"
)

// ErrBadOffer wraps a visitor's offer that cannot be answered: malformed,
// no audio, no codec in common.
var ErrBadOffer = errors.New("bad offer")

// MediaEngine answers visitors' offers.
type MediaEngine interface {
	// Answer answers offer (an SDP with ICE gathering complete) and
	// returns the media of the call and the answer. An offer that cannot
	// be answered gives an error wrapping ErrBadOffer.
	Answer(offer string) (Media, string, error)
}

// Media is the media of one call: the visitor's leg, answered, and the
// agent's leg, offered once an agent is chosen.
type Media interface {
	// Ready is closed once the visitor's data connection is up (ICE and
	// DTLS): only then is the call offered to agents.
	Ready() <-chan struct{}
	// AgentOffer is the SDP offer for the agent's leg.
	AgentOffer() []byte
	// Connect starts relaying with the agent's answer.
	Connect(answer []byte) error
	// Reoffer answers the agent's new offer (hold, resume).
	Reoffer(offer []byte) ([]byte, error)
	// Chat delivers the visitor's chat messages.
	Chat() <-chan string
	// SendChat sends text to the visitor.
	SendChat(text string) error
	// Done is closed when the media ended by itself; Reason says why.
	Done() <-chan struct{}
	Reason() string
	// Close ends the media.
	Close()
}

// Dialer places calls to agents.
type Dialer interface {
	// Dial calls agent (its address-of-record) with o and returns once it
	// answered; cancelling ctx gives up (CANCEL). h hears about the call
	// from the first provisional answer on.
	Dial(ctx context.Context, agent string, o Offer, h LegHandler) (Leg, error)
}

// Offer is what the agent's phone is shown.
type Offer struct {
	// CallID names the visitor's call (shown in a header).
	CallID string
	// Display is the caller's display name.
	Display string
	// Context is the visitor context, URL-query encoded.
	Context string
	// SDP is the media offer.
	SDP []byte
}

// Leg is an answered agent leg.
type Leg interface {
	// Answer is the agent's SDP answer.
	Answer() []byte
	// Hangup ends the leg (BYE).
	Hangup(ctx context.Context) error
	// Message sends the agent a chat message within the call.
	Message(ctx context.Context, text string) error
}

// LegHandler hears what the agent's side does.
type LegHandler interface {
	// Ringing: the phone rings.
	Ringing()
	// Reoffer answers a new offer from the agent.
	Reoffer(offer []byte) ([]byte, error)
	// Message is chat text from the agent.
	Message(text string)
	// HungUp: the agent ended the call.
	HungUp()
}
