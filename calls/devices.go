package calls

import "context"

// Softphones are the agents' browser softphones (media.Softphones): a
// device of the agent beside its SIP phone, which rings in the agent
// console and shows its chats.
type Softphones interface {
	Dialer
	Messenger
	// Connected reports whether agent has a softphone connected now.
	Connected(agent string) bool
}

// Phones are the agents' SIP phones (the B2BUA in sip/).
type Phones interface {
	Dialer
	Messenger
}

// Devices is the Dialer and Messenger of agents who may have two kinds of
// device: it rings, and writes to, an agent's browser softphone while one
// is connected (the agent chose to work in the browser), and its SIP
// phone otherwise.
type Devices struct {
	Softphones Softphones
	Phones     Phones
}

var (
	_ Dialer    = Devices{}
	_ Messenger = Devices{}
)

// Dial implements Dialer. A softphone that goes away between the check
// and the ring fails the ring, as a phone whose registration lapsed.
func (d Devices) Dial(ctx context.Context, agent string, o Offer, h LegHandler) (Leg, error) {
	if d.Softphones != nil && d.Softphones.Connected(agent) {
		return d.Softphones.Dial(ctx, agent, o, h)
	}
	return d.Phones.Dial(ctx, agent, o, h)
}

// Message implements Messenger: to the console's softphone while one is
// connected, else to the SIP phone.
func (d Devices) Message(ctx context.Context, agent, chat, display, text string) error {
	if d.Softphones != nil && d.Softphones.Connected(agent) {
		return d.Softphones.Message(ctx, agent, chat, display, text)
	}
	return d.Phones.Message(ctx, agent, chat, display, text)
}

// Composing implements Messenger, to the same device as Message.
func (d Devices) Composing(ctx context.Context, agent, chat string, active bool) error {
	if d.Softphones != nil && d.Softphones.Connected(agent) {
		return d.Softphones.Composing(ctx, agent, chat, active)
	}
	return d.Phones.Composing(ctx, agent, chat, active)
}
