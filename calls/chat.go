package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/acd"
)

// Chats: a visitor's text conversation with an agent before (or instead
// of) a call. A chat waits in its group's queue like a call, is routed by
// the ACD to an agent, and reaches the agent's phone as MESSAGEs from the
// visitor's own URI (RFC 3428), the first one telling who writes and
// from where; the agent's answers come back the same way. The agent is
// busy with the chat until it ends; Talk now in a chat (Request.Chat)
// rings the same agent, ahead of the queue.
//
//	StartChat ─▶ queued ─▶ (Route) ─▶ open ─▶ ended
//	               ▲           │
//	               └─ refused ─┘  (the phone did not take the MESSAGE)

// Chat states.
const (
	ChatQueued = "queued"
	ChatOpen   = "open"
	ChatEnded  = "ended"
)

// Why a chat ended.
const (
	ChatReasonVisitorLeft = "visitor-left"
	ChatReasonAgentEnded  = "agent-ended"
	ChatReasonIdle        = "idle"
	ChatReasonCall        = "call" // it became a call with the same agent
	ChatReasonShutdown    = "shutdown"
)

// ChatEndCommand is what an agent writes to end a chat from a phone.
const ChatEndCommand = "/end"

// MaxChatText is the longest message, in bytes, either side may write.
const MaxChatText = 4096

// chatInbox is how many of the visitor's messages may wait for delivery
// to the agent; past it SayInChat refuses with ErrChatBusy.
const chatInbox = 16

// maxChatLines is how many lines of a chat's transcript are kept for
// the visitor's events; older ones are dropped.
const maxChatLines = 200

var (
	// ErrUnknownChat is returned for a chat id that is not (or no longer) known.
	ErrUnknownChat = errors.New("unknown chat")
	// ErrChatEnded is returned for a message to a chat that has ended.
	ErrChatEnded = errors.New("the chat has ended")
	// ErrChatText is returned for an empty message or one over MaxChatText.
	ErrChatText = fmt.Errorf("a message must have 1 to %d bytes", MaxChatText)
	// ErrNotChatAgent is returned when an agent writes to a chat that is
	// not theirs.
	ErrNotChatAgent = errors.New("not this chat's agent")
	// ErrChatBusy is returned while chatInbox of the visitor's messages
	// wait for delivery.
	ErrChatBusy = fmt.Errorf("%d messages are waiting for delivery already", chatInbox)
	// ErrChatsOff is returned while chats are not enabled.
	ErrChatsOff = errors.New("chats are off")
)

// Messenger sends chat text to agents' phones outside any call.
type Messenger interface {
	// Message sends text to agent from chat's visitor (shown as
	// display); an error means it was not delivered.
	Message(ctx context.Context, agent, chat, display, text string) error
	// Composing tells the agent whether the visitor is typing (RFC 3994).
	Composing(ctx context.Context, agent, chat string, active bool) error
}

// ChatInbox takes what agents' devices send to chats (Manager): the SIP
// B2BUA for phones, media's softphones for the console.
type ChatInbox interface {
	// ChatAgent is the agent of chat id while it is open.
	ChatAgent(id string) (agent string, open bool)
	// AgentSays gives the chat's visitor a message of its agent.
	AgentSays(id, agent, text string) error
	// AgentTyping shows the chat's visitor whether its agent is typing.
	AgentTyping(id, agent string, active bool) error
}

var _ ChatInbox = (*Manager)(nil)

// ChatView is what the visitor sees of a chat.
type ChatView struct {
	ID, Group, State string
	// Position (1 is next) and EWT while queued.
	Position int
	EWT      time.Duration
	// Agent is the agent's display name once open, AgentURI its
	// address-of-record.
	Agent, AgentURI string
	// Typing: the agent is writing.
	Typing bool
	Reason string
}

// ChatLine is one line of a chat's transcript, as the visitor follows
// it: a message from the agent, or the fate of one of the visitor's.
type ChatLine struct {
	// Seq numbers the lines of a chat from 1.
	Seq int
	// Kind is "message" (Text from the agent), "delivered" or "failed"
	// (the visitor's message ID).
	Kind, ID, Text string
}

// chatMessage is a visitor's message on its way to the agent.
type chatMessage struct{ id, text string }

type chat struct {
	id      string
	visitor Visitor
	item    *acd.Item
	offers  chan string      // the agent the dispatcher routed the chat to
	inbox   chan chatMessage // the visitor's messages, in order
	typing  chan bool        // the visitor starts or stops typing
	end     chan string      // why the visitor's side ends it
	ended   chan struct{}    // closed once over
	handed  chan chan string // Talk now: the agent, "" when not open
	started time.Time
	opened  time.Time    // when an agent took it; set by its goroutine
	last    atomic.Int64 // unix nanoseconds of the last message either way

	mu      sync.Mutex
	view    ChatView
	lines   []ChatLine
	seq     int
	changed chan struct{}
}

// update changes the chat's view and wakes its followers.
func (ch *chat) update(change func(v *ChatView)) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	change(&ch.view)
	close(ch.changed)
	ch.changed = make(chan struct{})
}

// add appends a line of the transcript and wakes the followers.
func (ch *chat) add(kind, id, text string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.seq++
	ch.lines = append(ch.lines, ChatLine{Seq: ch.seq, Kind: kind, ID: id, Text: text})
	if len(ch.lines) > maxChatLines {
		ch.lines = ch.lines[len(ch.lines)-maxChatLines:]
	}
	close(ch.changed)
	ch.changed = make(chan struct{})
}

// offer hands the chat to agent unless it has ended; the dispatcher
// offers a chat to one agent at a time, so the send never blocks.
func (ch *chat) offer(agent string) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.view.State == ChatEnded {
		return false
	}
	select {
	case ch.offers <- agent:
		return true
	default:
		return false
	}
}

// stop asks the chat to end with reason, without waiting; the first
// reason wins.
func (ch *chat) stop(reason string) {
	select {
	case ch.end <- reason:
	default:
	}
}

// EnableChats turns chats on: msgr reaches the agents' phones. Call it
// before Run.
func (m *Manager) EnableChats(msgr Messenger) { m.msgr = msgr }

// StartChat queues a chat in group with the visitor's first message,
// msgID.
func (m *Manager) StartChat(group string, v Visitor, msgID, first string) (ChatView, error) {
	if m.msgr == nil {
		return ChatView{}, ErrChatsOff
	}
	if len(first) == 0 || len(first) > MaxChatText {
		return ChatView{}, ErrChatText
	}
	now := time.Now()
	if err := m.accepting(group, now); err != nil {
		return ChatView{}, err
	}
	id := newID()
	item := m.acd.NewItem(id, group, v.Preferred, m.acd.TierPriority(v.Tier), now)
	item.Language = v.Language
	ch := &chat{id: id, visitor: v, item: item, offers: make(chan string, 1), inbox: make(chan chatMessage, chatInbox),
		typing: make(chan bool, 1), end: make(chan string, 1), ended: make(chan struct{}), handed: make(chan chan string),
		started: now, view: ChatView{ID: id, Group: group, State: ChatQueued}, changed: make(chan struct{})}
	ch.last.Store(now.UnixNano())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopping {
		return ChatView{}, ErrStopped
	}
	if _, err := m.acd.Enqueue(item); err != nil {
		return ChatView{}, m.refused(group, err, now)
	}
	m.chats[id] = ch
	ch.inbox <- chatMessage{id: msgID, text: first}
	pos, ewt := m.acd.Waiting(group, id, now)
	ch.view.Position, ch.view.EWT = pos, ewt
	m.wg.Add(1)
	go m.serveChat(ch)
	m.signal()
	return ch.view, nil
}

// chat finds chat id.
func (m *Manager) chat(id string) (*chat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ch := m.chats[id]; ch != nil {
		return ch, nil
	}
	return nil, ErrUnknownChat
}

// Chat returns chat id as it stands, the lines of its transcript after
// line seq, and a channel closed at its next change.
func (m *Manager) Chat(id string, after int) (ChatView, []ChatLine, <-chan struct{}, error) {
	ch, err := m.chat(id)
	if err != nil {
		return ChatView{}, nil, nil, err
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var lines []ChatLine
	for _, l := range ch.lines {
		if l.Seq > after {
			lines = append(lines, l)
		}
	}
	return ch.view, lines, ch.changed, nil
}

// SayInChat sends the visitor's message msgID to the chat's agent (or
// keeps it for the agent the chat is routed to); its fate comes as a
// "delivered" or "failed" line.
func (m *Manager) SayInChat(id, msgID, text string) error {
	ch, err := m.chat(id)
	if err != nil {
		return err
	}
	if len(text) == 0 || len(text) > MaxChatText {
		return ErrChatText
	}
	select {
	case <-ch.ended:
		return ErrChatEnded
	default:
	}
	select {
	case ch.inbox <- chatMessage{id: msgID, text: text}:
		return nil
	default:
		return ErrChatBusy
	}
}

// TypingInChat tells the chat's agent whether the visitor is typing.
func (m *Manager) TypingInChat(id string, active bool) error {
	ch, err := m.chat(id)
	if err != nil {
		return err
	}
	select {
	case <-ch.typing: // only the latest counts
	default:
	}
	select {
	case ch.typing <- active:
	default:
	}
	return nil
}

// LeaveChat ends chat id for the visitor.
func (m *Manager) LeaveChat(id string) error {
	ch, err := m.chat(id)
	if err != nil {
		return err
	}
	ch.stop(ChatReasonVisitorLeft)
	return nil
}

// ChatAgent is the agent of chat id while it is open: the only one who
// may write to it.
func (m *Manager) ChatAgent(id string) (string, bool) {
	ch, err := m.chat(id)
	if err != nil {
		return "", false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.view.AgentURI, ch.view.State == ChatOpen
}

// AgentSays gives the visitor of chat id a message of agent;
// ChatEndCommand ends the chat.
func (m *Manager) AgentSays(id, agent, text string) error {
	ch, err := m.chat(id)
	if err != nil {
		return err
	}
	if uri, open := m.ChatAgent(id); !open || uri != agent {
		return ErrNotChatAgent
	}
	if text == ChatEndCommand {
		ch.stop(ChatReasonAgentEnded)
		return nil
	}
	if len(text) > MaxChatText {
		return ErrChatText
	}
	ch.last.Store(time.Now().UnixNano())
	ch.update(func(v *ChatView) { v.Typing = false })
	ch.add("message", "", text)
	return nil
}

// AgentTyping shows the visitor of chat id that its agent is typing.
func (m *Manager) AgentTyping(id, agent string, active bool) error {
	ch, err := m.chat(id)
	if err != nil {
		return err
	}
	if uri, open := m.ChatAgent(id); !open || uri != agent {
		return ErrNotChatAgent
	}
	ch.update(func(v *ChatView) { v.Typing = active })
	return nil
}

// handOver ends chat id, as its visitor's call takes over, and returns
// the agent it was open with ("" when it was not open).
func (m *Manager) handOver(id string) string {
	ch, err := m.chat(id)
	if err != nil {
		return ""
	}
	reply := make(chan string, 1)
	select {
	case ch.handed <- reply:
		return <-reply
	case <-ch.ended:
		return ""
	}
}

// serveChat owns chat ch from queued to ended.
func (m *Manager) serveChat(ch *chat) {
	defer m.wg.Done()
	log := m.log.With("chat_id", ch.id, "group", ch.item.Group)
	reason, agent := m.chatProgress(ch, log)
	now := time.Now()
	close(ch.ended)
	ch.update(func(v *ChatView) { v.State, v.Reason, v.Typing, v.Position, v.EWT = ChatEnded, reason, false, 0, 0 })
	m.acd.Leave(ch.item.Group, ch.id, now, agent == "") // no-op once answered
	if agent != "" {
		m.record(agent, Handled{Kind: "chat", ID: ch.id, Group: ch.item.Group, Visitor: m.display(ch),
			Start: ch.opened, Duration: now.Sub(ch.opened), Outcome: reason})
	}
	if agent != "" && reason != ChatReasonCall {
		ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		if why := chatEnd[reason]; why != "" {
			m.msgr.Message(ctx, agent, ch.id, m.display(ch), "[The chat has ended: "+why+".]")
		}
		cancel()
		m.acd.Ended(context.Background(), agent, ch.item.Group, now.Sub(ch.started))
	}
	select {
	case a := <-ch.offers: // routed as it ended
		m.acd.Release(context.Background(), a, ch.item)
	default:
	}
	m.counts.add(func(c *counts) { c.chatsEnded[reason]++ })
	log.Info("chat ended", "reason", reason)
	time.AfterFunc(m.cfg.KeepEnded, func() {
		m.mu.Lock()
		delete(m.chats, ch.id)
		m.mu.Unlock()
	})
	m.signal()
}

// chatProgress runs the chat until it ends, and returns why and the
// agent it was open with, if any.
func (m *Manager) chatProgress(ch *chat, log *slog.Logger) (reason, agent string) {
	var pending []chatMessage // the visitor's, until an agent takes the chat
	idle := time.NewTimer(m.cfg.ChatIdle)
	defer idle.Stop()
	for {
		select {
		case msg := <-ch.inbox:
			ch.last.Store(time.Now().UnixNano())
			if agent == "" {
				pending = append(pending, msg)
				continue
			}
			m.deliver(ch, agent, msg, log)
		case a := <-ch.offers:
			if m.openChat(ch, a, pending, log) {
				agent, pending = a, nil
			}
		case active := <-ch.typing:
			if agent != "" {
				ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
				if err := m.msgr.Composing(ctx, agent, ch.id, active); err != nil {
					log.Debug("composing to agent", "error", err)
				}
				cancel()
			}
		case reply := <-ch.handed:
			reply <- agent
			return ChatReasonCall, agent
		case why := <-ch.end:
			return why, agent
		case <-idle.C:
			// the last message, either way, is as old as the chat may be idle
			if rest := m.cfg.ChatIdle - time.Since(time.Unix(0, ch.last.Load())); rest > 0 {
				idle.Reset(rest)
				continue
			}
			return ChatReasonIdle, agent
		case <-m.stop:
			return ChatReasonShutdown, agent
		}
	}
}

// openChat gives the chat to agent, reserved by the dispatcher: a first
// MESSAGE says who writes, then the visitor's messages so far. Refused,
// the chat goes back to the queue.
func (m *Manager) openChat(ch *chat, agent string, pending []chatMessage, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RingTimeout)
	defer cancel()
	intro := fmt.Sprintf("[Chat from %s: %s. Reply to answer; %q ends the chat.]", m.display(ch), contextLine(ch.visitor.Context), ChatEndCommand)
	if err := m.msgr.Message(ctx, agent, ch.id, m.display(ch), intro); err != nil {
		log.Info("agent did not take the chat", "agent", agent, "error", err)
		m.acd.Missed(context.Background(), agent, ch.item)
		return false
	}
	ch.opened = time.Now()
	m.acd.Leave(ch.item.Group, ch.id, ch.opened, false)
	m.acd.Answered(context.Background(), agent)
	ch.update(func(v *ChatView) {
		v.State, v.Agent, v.AgentURI, v.Position, v.EWT = ChatOpen, m.acd.AgentName(agent), agent, 0, 0
	})
	log.Info("chat open", "agent", agent)
	for _, msg := range pending {
		m.deliver(ch, agent, msg, log)
	}
	return true
}

// deliver sends one of the visitor's messages to agent and records its fate.
func (m *Manager) deliver(ch *chat, agent string, msg chatMessage, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	if err := m.msgr.Message(ctx, agent, ch.id, m.display(ch), msg.text); err != nil {
		log.Info("chat message not delivered", "agent", agent, "error", err)
		ch.add("failed", msg.id, "")
		return
	}
	ch.add("delivered", msg.id, "")
}

// contextLine writes the visitor context (a URL query) for a person to
// read on a phone's screen: "group billing, language fr, page /pricing".
func contextLine(query string) string {
	q, err := url.ParseQuery(query)
	if err != nil {
		return query
	}
	var parts []string
	for _, k := range []string{"group", "language", "page", "customer", "tier"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// chatEnd tells the agent why a chat ended, when the agent did not end it.
var chatEnd = map[string]string{ChatReasonVisitorLeft: "the visitor left", ChatReasonIdle: "no message for a while",
	ChatReasonShutdown: "Switchboard is stopping"}

// display is the visitor's name as agents see it.
func (m *Manager) display(ch *chat) string {
	if ch.visitor.Name != "" {
		return ch.visitor.Name
	}
	return "Web visitor"
}

// refreshChat updates a queued chat's position and EWT.
func (m *Manager) refreshChat(ch *chat, now time.Time) {
	pos, ewt := m.acd.Waiting(ch.item.Group, ch.id, now)
	ch.mu.Lock()
	same := ch.view.State != ChatQueued || (ch.view.Position == pos && ch.view.EWT == ewt)
	ch.mu.Unlock()
	if !same {
		ch.update(func(v *ChatView) {
			if v.State == ChatQueued {
				v.Position, v.EWT = pos, ewt
			}
		})
	}
}
