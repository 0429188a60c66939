package media

import (
	"encoding/json"
	"errors"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/calls"
)

// ChatProtocol is the data channel sub-protocol (RFC 8831 §6.4) of a
// "chat" channel whose messages are JSON with delivery receipts
// (docs/calls.md); a "chat" channel without it carries plain text both
// ways and gets no receipts.
const ChatProtocol = "switchboard-chat+json"

// chatFrame is one JSON message of ChatProtocol. From the visitor:
// {"id","text"}. To the visitor: {"type":"message","text"} for the
// agent's text, {"type":"delivered","id"} or {"type":"failed","id"} for
// the visitor's message id.
type chatFrame struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Text string `json:"text,omitempty"`
}

// maxChatText bounds one chat message from the visitor, in bytes.
const maxChatText = 4096

// onDataChannel takes the visitor's "chat" channel.
func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	if dc.Label() != "chat" {
		return
	}
	s.dc.Store(dc)
	framed := dc.Protocol() == ChatProtocol
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString {
			return
		}
		msg := calls.ChatMessage{Text: string(m.Data)}
		if framed {
			var f chatFrame
			if json.Unmarshal(m.Data, &f) != nil || f.Text == "" {
				s.sendFrame(chatFrame{Type: "failed", ID: f.ID})
				return
			}
			msg = calls.ChatMessage{ID: f.ID, Text: f.Text}
		}
		if len(msg.Text) > maxChatText {
			s.ChatResult(msg.ID, errors.New("too long"))
			return
		}
		select {
		case s.chat <- msg:
		default:
			s.e.log.Warn("chat message dropped: the agent's side is behind")
			s.ChatResult(msg.ID, errors.New("dropped"))
		}
	})
}

// Chat implements calls.Media.
func (s *Session) Chat() <-chan calls.ChatMessage { return s.chat }

// SendChat implements calls.Media.
func (s *Session) SendChat(text string) error {
	return s.sendFrame(chatFrame{Type: "message", Text: text})
}

// ChatResult implements calls.Media: a receipt on a framed channel,
// nothing on a plain one.
func (s *Session) ChatResult(id string, err error) {
	if id == "" {
		return
	}
	f := chatFrame{Type: "delivered", ID: id}
	if err != nil {
		f.Type = "failed"
	}
	if err := s.sendFrame(f); err != nil {
		s.e.log.Debug("chat receipt", "error", err)
	}
}

// sendFrame sends f on the chat channel: as JSON on a framed channel, its
// text alone on a plain one (where only messages are sent).
func (s *Session) sendFrame(f chatFrame) error {
	dc := s.dc.Load()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return errors.New("media: the chat channel is not open")
	}
	if dc.Protocol() != ChatProtocol {
		if f.Type != "message" {
			return nil
		}
		return dc.SendText(f.Text)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return dc.SendText(string(b))
}
