package media

import (
	"encoding/json"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

// SoftphoneLabel is the label of a softphone's control channel, and
// SoftphoneProtocol its sub-protocol (RFC 8831 §6.4): one JSON object per
// message, both ways (docs/softphone.md).
const (
	SoftphoneLabel    = "softphone"
	SoftphoneProtocol = "switchboard-softphone+json"
)

// controlFrame is one message of the control channel.
//
// To the console: ring (a call for the agent: call, kind, from, phone,
// context), cancel (the ring is over unanswered: reason no-answer or
// cancelled), talking (the answer took: audio flows), ended (the call
// ended on the visitor's side), message (the visitor's chat text), and
// replaced (another console took over; the connection closes); chat and
// chat-typing of a visitor's chat before a call (softphone_chat.go).
//
// From the console: answer, decline and hangup of call, message (the
// agent's chat text in call), chat and chat-typing.
type controlFrame struct {
	Type    string            `json:"type"`
	Call    string            `json:"call,omitempty"`
	Kind    string            `json:"kind,omitempty"`    // ring: "call" or "callback"
	From    string            `json:"from,omitempty"`    // ring: the caller's display name
	Phone   string            `json:"phone,omitempty"`   // ring: the callback's number (E.164)
	Context map[string]string `json:"context,omitempty"` // ring: the visitor context
	Reason  string            `json:"reason,omitempty"`  // cancel
	Text    string            `json:"text,omitempty"`    // message, chat
	Chat    string            `json:"chat,omitempty"`    // chat, chat-typing: the chat's id
	Active  bool              `json:"active,omitempty"`  // chat-typing
}

// errControlClosed is returned while the control channel cannot send.
var errControlClosed = errors.New("media: the softphone's control channel is not open")

// ringFrame is what the console is shown of o.
func ringFrame(id string, o calls.Offer) controlFrame {
	f := controlFrame{Type: "ring", Call: id, Kind: "call", From: o.Display, Phone: o.Phone}
	if o.CallbackID != "" {
		f.Kind = "callback"
	}
	if q, err := url.ParseQuery(o.Context); err == nil && len(q) > 0 {
		f.Context = make(map[string]string, len(q))
		for k := range q {
			f.Context[k] = q.Get(k)
		}
	}
	return f
}

// send writes f on the control channel.
func (p *Softphone) send(f controlFrame) error {
	dc := p.control.Load()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return errControlClosed
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return dc.SendText(string(b))
}

// flushTimeout bounds how long a last control message may take to reach
// the console before the connection closes under it.
const flushTimeout = time.Second

// sendLast sends f as the last message before the connection closes:
// it waits until the console acknowledged it (SCTP), up to flushTimeout.
func (p *Softphone) sendLast(f controlFrame) {
	dc := p.control.Load()
	if dc == nil {
		return
	}
	flushed := make(chan struct{})
	var once sync.Once
	dc.SetBufferedAmountLowThreshold(0)
	dc.OnBufferedAmountLow(func() { once.Do(func() { close(flushed) }) })
	if p.send(f) != nil {
		return
	}
	if dc.BufferedAmount() == 0 {
		return
	}
	select {
	case <-flushed:
	case <-time.After(flushTimeout):
	}
}

// onControl takes a message from the console: about the call it names,
// which must be the one ringing or talking; anything else is ignored (a
// click that crossed the end of the call).
func (p *Softphone) onControl(m webrtc.DataChannelMessage) {
	var f controlFrame
	if !m.IsString || len(m.Data) > maxChatText+256 || json.Unmarshal(m.Data, &f) != nil {
		return
	}
	if f.Type == "chat" || f.Type == "chat-typing" {
		p.ps.onChat(p.agent, f)
		return
	}
	l := p.current()
	if l == nil || l.id != f.Call {
		return
	}
	switch f.Type {
	case "answer":
		l.answerOnce.Do(func() { close(l.answered) })
	case "decline":
		l.declineOnce.Do(func() { close(l.declined) })
	case "hangup":
		if l.talking.Load() {
			l.hungUpByAgent()
		} else {
			l.declineOnce.Do(func() { close(l.declined) })
		}
	case "message":
		if l.talking.Load() && f.Text != "" && len(f.Text) <= maxChatText {
			l.h.Message(f.Text)
		}
	}
}
