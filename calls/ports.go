package calls

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// ErrBadOffer wraps a visitor's offer that cannot be answered: malformed,
// no audio, no codec in common; for an ICE restart also an offer that
// restarts nothing (the same ICE credentials) or changes the codec.
var ErrBadOffer = errors.New("bad offer")

var (
	// ErrRestartBusy is returned by Media.Restart while another ICE
	// restart of the call is being answered: one at a time.
	ErrRestartBusy = errors.New("an ICE restart of this call is in progress")
	// ErrRestartLimit is returned by Media.Restart once the call had as
	// many ICE restarts as it may.
	ErrRestartLimit = errors.New("too many ICE restarts for this call")
)

// ACD is what calls consume of the ACD (acd.Service): its queues,
// routing, agents' call states and estimates.
type ACD interface {
	NewItem(id, group, preferred string, priority int, now time.Time) *acd.Item
	TierPriority(tier string) int
	Enqueue(it *acd.Item) (int, error)
	Leave(group, id string, now time.Time, abandoned bool)
	// Route picks the next offer; Offer reserves the agent, then one of
	// Answered (then Ended), Missed, Failed or Release settles it.
	Route(now time.Time, ready func(*acd.Item) bool) (*acd.Item, string, bool)
	Offer(ctx context.Context, uri string, it *acd.Item)
	// Handover reserves an agent busy with the visitor's chat for its call.
	Handover(ctx context.Context, uri string, it *acd.Item)
	Answered(ctx context.Context, uri string)
	Missed(ctx context.Context, uri string, it *acd.Item)
	Failed(ctx context.Context, uri string, it *acd.Item)
	Release(ctx context.Context, uri string, it *acd.Item)
	// Reserve reserves an agent chosen by hand (a transfer) for it, only
	// when available; Requeue puts an answered item back in a group's
	// queue with its first arrival time (transfer.go).
	Reserve(ctx context.Context, uri string, it *acd.Item) error
	Requeue(it *acd.Item, group string) error
	Ended(ctx context.Context, uri, group string, talk time.Duration)
	Waiting(group, id string, now time.Time) (position int, ewt time.Duration)
	Overdue(group string, enqueued, now time.Time) bool
	Status(now time.Time) []acd.GroupStatus
	Band(d time.Duration) string
	AgentName(uri string) string
	// Changes receives whenever an agent's state changes.
	Changes() <-chan struct{}
}

var _ ACD = (*acd.Service)(nil)

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
	// Hold holds the call on Switchboard's side (on) or resumes it: while
	// held, the visitor hears the hold tone instead of the agent, and the
	// agent silence instead of the visitor. It is independent of the
	// phone's own hold (Reoffer).
	Hold(on bool)
	// Disconnect ends the relay with the agent's leg, which is gone (a
	// transfer), until the next Connect; the visitor's leg stays up.
	Disconnect()
	// Restart answers the visitor's ICE restart offer (a new ice-ufrag
	// and ice-pwd, ICE gathering complete) on the same connection: the
	// agent's leg, the relay and the chat go on. Errors wrap ErrBadOffer,
	// or are ErrRestartBusy, ErrRestartLimit or ErrCallEnded.
	Restart(offer string) (string, error)
	// Chat delivers the visitor's chat messages.
	Chat() <-chan ChatMessage
	// ChatResult tells the visitor whether its message id reached the
	// agent (err nil) or not; nothing for an id of "".
	ChatResult(id string, err error)
	// SendChat sends text to the visitor.
	SendChat(text string) error
	// Done is closed when the media ended by itself; Reason says why.
	Done() <-chan struct{}
	Reason() string
	// Close ends the media.
	Close()
}

// ChatMessage is one chat message of the visitor.
type ChatMessage struct {
	ID   string // the visitor's own id, for a receipt; "" when it asks none
	Text string
}

// Dialer places calls to agents.
type Dialer interface {
	// Dial calls agent (its address-of-record) with o and returns once it
	// answered; cancelling ctx gives up (CANCEL). h hears about the call
	// from the first provisional answer on.
	Dial(ctx context.Context, agent string, o Offer, h LegHandler) (Leg, error)
}

// Offer is what the called phone is shown.
type Offer struct {
	// CallID names the visitor's call, CallbackID the callback (one of
	// them, shown in a header).
	CallID, CallbackID string
	// Display is the caller's display name.
	Display string
	// Phone is the visitor's number in E.164 (callbacks): the caller
	// shown, and a header.
	Phone string
	// Context is the visitor context, URL-query encoded.
	Context string
	// SDP is the media offer.
	SDP []byte
}

// Cause is why a leg ended or was refused, as a SIP status (RFC 3326).
type Cause struct {
	Status int
	Text   string
}

// Leg is an answered agent leg.
type Leg interface {
	// Answer is the agent's SDP answer.
	Answer() []byte
	// Hangup ends the leg (BYE), telling why when why is not zero.
	Hangup(ctx context.Context, why Cause) error
	// Message sends the agent a chat message within the call.
	Message(ctx context.Context, text string) error
}

// LegHandler hears what the agent's side does.
type LegHandler interface {
	// Ringing: the phone rings; early is the SDP of early media (a 183
	// with a body), or nil.
	Ringing(early []byte)
	// Reoffer answers a new offer from the agent.
	Reoffer(offer []byte) ([]byte, error)
	// Message is chat text from the agent.
	Message(text string)
	// HungUp: the agent ended the call.
	HungUp()
}

// Trunk places calls to telephone numbers through a SIP trunk.
type Trunk interface {
	// Dial calls number (E.164) with o and returns once it answered;
	// cancelling ctx gives up (CANCEL). A refusal's error has a
	// Cause() Cause method.
	Dial(ctx context.Context, number string, o Offer, h LegHandler) (Leg, error)
}

// Bridger gives callbacks their media.
type Bridger interface {
	// Bridge opens the two plain RTP legs of a callback.
	Bridge() (PhoneMedia, error)
}

// PhoneMedia is the media of a callback: the agent's leg and the
// visitor's leg through the trunk, relayed to each other.
type PhoneMedia interface {
	// AgentOffer is the SDP offer for the agent's phone.
	AgentOffer() []byte
	// ConnectAgent takes the agent's answer.
	ConnectAgent(answer []byte) error
	// TrunkOffer is the SDP offer toward the trunk, in the agent's law
	// (after ConnectAgent).
	TrunkOffer() []byte
	// ConnectTrunk takes the trunk's answer or early media SDP: relaying
	// starts at once.
	ConnectTrunk(sdp []byte) error
	// Ringback plays the ringing tone to the agent until the trunk's
	// media starts.
	Ringback()
	// ReofferAgent and ReofferTrunk answer a new offer from either side.
	ReofferAgent(offer []byte) ([]byte, error)
	ReofferTrunk(offer []byte) ([]byte, error)
	// Done is closed when a leg went quiet for the media timeout.
	Done() <-chan struct{}
	// Close ends both legs.
	Close()
}
