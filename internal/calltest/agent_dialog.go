package calltest

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"
)

var errNoCall = errors.New("calltest: no current call")

// Hangup sends BYE on the current call.
func (a *Agent) Hangup(ctx context.Context) error {
	if c := a.Call(); c != nil {
		return c.Hangup(ctx)
	}
	return errNoCall
}

// Hold puts the current call on hold (re-INVITE with a=sendonly) and
// returns the answer's direction.
func (a *Agent) Hold(ctx context.Context) (string, error) {
	if c := a.Call(); c != nil {
		return c.Hold(ctx)
	}
	return "", errNoCall
}

// Resume takes the current call off hold (re-INVITE with a=sendrecv) and
// returns the answer's direction.
func (a *Agent) Resume(ctx context.Context) (string, error) {
	if c := a.Call(); c != nil {
		return c.Resume(ctx)
	}
	return "", errNoCall
}

// SendMessage sends a text/plain MESSAGE within the current call.
func (a *Agent) SendMessage(ctx context.Context, text string) error {
	if c := a.Call(); c != nil {
		return c.SendMessage(ctx, text)
	}
	return errNoCall
}

// find returns the call of an in-dialog request.
func (a *Agent) find(req *sip.Request) *Call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[id]
}

func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

func (a *Agent) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		a.onReinvite(req, tx)
		return
	}
	select {
	case <-a.closed:
		respond(tx, req, 503, "Service Unavailable")
		return
	default:
	}
	send(a, a.invites, req)
	a.mu.Lock()
	b := a.behaviour
	a.mu.Unlock()
	if a.opts.Decide != nil {
		b = a.opts.Decide(req)
	}
	sess, err := a.dialogUA.ReadInvite(req, tx)
	if err != nil {
		respond(tx, req, 400, err.Error())
		return
	}
	c := newCall(a, sess, req)
	a.event(EventInvite, c, req)
	tx.OnCancel(func(*sip.Request) { a.event(EventCancel, c, req) })
	a.mu.Lock()
	a.calls[sess.ID] = c
	a.mu.Unlock()
	defer func() {
		if !c.isAnswered() {
			c.end()
		}
	}()
	sess.Respond(100, "Trying", nil)
	if err := sess.Respond(180, "Ringing", nil); err != nil {
		return
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-sess.Context().Done(): // CANCEL: sipgo answered 487
		case <-a.closed:
		}
		return false
	}
	switch b.Action {
	case Ring:
		wait(1<<63 - 1)
	case Reject:
		if wait(b.Delay) {
			status := b.Status
			if status == 0 {
				status = 486
			}
			sess.Respond(status, reasonPhrase(status), nil)
		}
	default:
		if !wait(b.Delay) {
			return
		}
		offer, err := ParseAudioOffer(string(req.Body()))
		if err != nil {
			sess.Respond(488, "Not Acceptable Here", nil)
			return
		}
		answer, err := c.startMedia(offer)
		if err != nil {
			sess.Respond(500, "Server Internal Error", nil)
			return
		}
		a.mu.Lock()
		c.answered = true
		a.current = c
		a.mu.Unlock()
		if err := sess.RespondSDP(answer); err != nil {
			c.end()
		}
	}
}

// reasonPhrase is the reason of the statuses an agent may reject with.
func reasonPhrase(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Rejected"
}

// onReinvite answers a re-INVITE of an answered call with the mirrored
// direction and the same port.
func (a *Agent) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := a.find(req)
	if c == nil || !c.isAnswered() {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	dir := SendRecv
	if body := req.Body(); len(body) > 0 {
		d, err := AudioDirection(string(body))
		if err != nil {
			respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		dir = Mirror(d)
	}
	res := sip.NewSDPResponseFromRequest(req, c.localSDP(dir))
	res.AppendHeader(sip.HeaderClone(&a.contact))
	if err := tx.Respond(res); err != nil {
		return
	}
	a.event(EventReinvite, c, req)
}

func (a *Agent) onAck(req *sip.Request, _ sip.ServerTransaction) {
	c := a.find(req)
	if c == nil {
		return
	}
	if c.session.ReadAck(req, nil) != nil {
		return // the ACK of a re-INVITE's 200
	}
	a.event(EventAck, c, req)
	c.ackOnce.Do(func() {
		close(c.acked)
		send(a, a.answered, c)
	})
}

func (a *Agent) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := a.find(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := c.session.ReadBye(req, tx); err != nil {
		respond(tx, req, 500, err.Error())
		return
	}
	a.event(EventBye, c, req)
	c.end()
}

func (a *Agent) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	c := a.find(req)
	if tag, _ := req.To().Params.Get("tag"); c == nil && tag == "" {
		a.onPage(req, tx)
		return
	}
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if a.opts.RefuseChat != 0 {
		respond(tx, req, a.opts.RefuseChat, "No text here")
		return
	}
	respond(tx, req, 200, "OK")
	text := string(req.Body())
	send(a, a.messages, text)
	a.event(EventMessage, c, req)
	if a.opts.EchoChat && a.track() {
		go func() {
			defer a.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.SendMessage(ctx, "echo: "+text)
		}()
	}
}
