package calls

import "context"

// Softphones are the agents' browser softphones (media.Softphones): a
// device of the agent beside its SIP phone, which rings in the agent
// console.
type Softphones interface {
	Dialer
	// Connected reports whether agent has a softphone connected now.
	Connected(agent string) bool
}

// Devices is the Dialer of agents who may have two kinds of device: it
// rings an agent's browser softphone while one is connected (the agent
// chose to take calls in the browser), and its SIP phone otherwise.
type Devices struct {
	Softphones Softphones
	Phones     Dialer
}

var _ Dialer = Devices{}

// Dial implements Dialer. A softphone that goes away between the check
// and the ring fails the ring, as a phone whose registration lapsed.
func (d Devices) Dial(ctx context.Context, agent string, o Offer, h LegHandler) (Leg, error) {
	if d.Softphones != nil && d.Softphones.Connected(agent) {
		return d.Softphones.Dial(ctx, agent, o, h)
	}
	return d.Phones.Dial(ctx, agent, o, h)
}
