package media

import (
	"context"

	"github.com/switchboard/switchboard/calls"
)

// A visitor's chat with an agent working in the browser goes over the
// softphone's control channel (docs/softphone.md): to the console, chat
// (the visitor's text, or Switchboard's line when the chat ends) and
// chat-typing; from the console, the agent's chat (its text, or "/end")
// and chat-typing, given to the chats' inbox.

// ServeChats hands what consoles write into visitors' chats to inbox.
func (ps *Softphones) ServeChats(inbox calls.ChatInbox) { ps.chats.Store(&inbox) }

var _ calls.Messenger = (*Softphones)(nil)

// Message implements calls.Messenger: text of chat's visitor, shown as
// display, to agent's console; ErrNoSoftphone without a console.
func (ps *Softphones) Message(_ context.Context, agent, chat, display, text string) error {
	p := ps.get(agent)
	if p == nil || !p.live.Load() {
		return ErrNoSoftphone
	}
	return p.send(controlFrame{Type: "chat", Chat: chat, From: display, Text: text})
}

// Composing implements calls.Messenger: the console shows whether the
// visitor is typing.
func (ps *Softphones) Composing(_ context.Context, agent, chat string, active bool) error {
	p := ps.get(agent)
	if p == nil || !p.live.Load() {
		return ErrNoSoftphone
	}
	return p.send(controlFrame{Type: "chat-typing", Chat: chat, Active: active})
}

// onChat takes the console's chat frames for agent; a chat that is not
// the agent's is refused by the inbox, and the frame dropped.
func (ps *Softphones) onChat(agent string, f controlFrame) {
	p := ps.chats.Load()
	if p == nil || f.Chat == "" {
		return
	}
	switch inbox := *p; f.Type {
	case "chat":
		if f.Text != "" && len(f.Text) <= maxChatText {
			inbox.AgentSays(f.Chat, agent, f.Text)
		}
	case "chat-typing":
		inbox.AgentTyping(f.Chat, agent, f.Active)
	}
}
