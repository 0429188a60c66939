package calltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// Call is one incoming call of an Agent, from its INVITE to its end.
type Call struct {
	agent   *Agent
	session *sipgo.DialogServerSession
	invite  *sip.Request
	sessID  uint64
	sdpVer  atomic.Uint64
	reqMu   sync.Mutex // one request of ours in the dialog at a time

	// guarded by agent.mu; set once when answering
	answered bool
	offer    *AudioOffer
	rtp      net.PacketConn

	acked, ended    chan struct{}
	ackOnce, endOne sync.Once

	noEcho        atomic.Bool
	heard         audioRing // the last second of the caller's audio
	rtpIn, echoed atomic.Uint64
	lastRTP       atomic.Int64
	remote        atomic.Pointer[net.UDPAddr]

	dtmfMu sync.Mutex
	digits []rune
	seenTE []uint32 // timestamps of the last events ended
}

func newCall(a *Agent, sess *sipgo.DialogServerSession, invite *sip.Request) *Call {
	return &Call{
		agent:   a,
		session: sess,
		invite:  invite,
		sessID:  rand.Uint64() >> 2,
		acked:   make(chan struct{}),
		ended:   make(chan struct{}),
	}
}

// ID is the INVITE's Switchboard-Call header.
func (c *Call) ID() string { return c.Header("Switchboard-Call") }

// Invite is the INVITE that started the call.
func (c *Call) Invite() *sip.Request { return c.invite }

// Header returns a header of the INVITE, "" when absent.
func (c *Call) Header(name string) string {
	if h := c.invite.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// FromName is the display name of the INVITE's From.
func (c *Call) FromName() string {
	if f := c.invite.From(); f != nil {
		return f.DisplayName
	}
	return ""
}

// Context parses the INVITE's Switchboard-Context (group, language, page,
// customer, name).
func (c *Call) Context() (url.Values, error) {
	return url.ParseQuery(c.Header("Switchboard-Context"))
}

// Session is sipgo's dialog, for what the Call's methods do not cover.
func (c *Call) Session() *sipgo.DialogServerSession { return c.session }

// Offer is what the INVITE's SDP offered (nil until answered).
func (c *Call) Offer() *AudioOffer {
	c.agent.mu.Lock()
	defer c.agent.mu.Unlock()
	return c.offer
}

// RTPAddr is the local address of the call's RTP socket (nil until
// answered).
func (c *Call) RTPAddr() *net.UDPAddr {
	c.agent.mu.Lock()
	defer c.agent.mu.Unlock()
	if c.rtp == nil {
		return nil
	}
	return c.rtp.LocalAddr().(*net.UDPAddr)
}

// RemoteRTP is the source of the last RTP packet received (where echoes
// go), nil before any.
func (c *Call) RemoteRTP() *net.UDPAddr { return c.remote.Load() }

// RTPReceived counts the RTP packets received (telephone-event included).
func (c *Call) RTPReceived() uint64 { return c.rtpIn.Load() }

// Level is the level of the caller's audio in the last 200 ms, in dBFS:
// -inf when none came, very low for the silence a muted microphone sends.
func (c *Call) Level() float64 { return LevelDBFS(c.heard.recent(hearWindow)) }

// RTPEchoed counts the packets sent back.
func (c *Call) RTPEchoed() uint64 { return c.echoed.Load() }

// LastRTP is when the last RTP packet arrived (zero before any).
func (c *Call) LastRTP() time.Time {
	if ns := c.lastRTP.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// SetEcho turns the echo off (false: packets are counted, not sent back)
// or on again.
func (c *Call) SetEcho(on bool) { c.noEcho.Store(!on) }

// Digits returns the DTMF digits received so far.
func (c *Call) Digits() string {
	c.dtmfMu.Lock()
	defer c.dtmfMu.Unlock()
	return string(c.digits)
}

// Acked is closed once the ACK of our 200 arrived.
func (c *Call) Acked() <-chan struct{} { return c.acked }

// Ended is closed once the call ended: BYE either way, CANCEL, rejection,
// or the agent closing.
func (c *Call) Ended() <-chan struct{} { return c.ended }

func (c *Call) isAnswered() bool {
	c.agent.mu.Lock()
	defer c.agent.mu.Unlock()
	return c.answered
}

// end releases the call once.
func (c *Call) end() {
	c.endOne.Do(func() {
		a := c.agent
		a.mu.Lock()
		if a.calls[c.session.ID] == c {
			delete(a.calls, c.session.ID)
		}
		if a.current == c {
			a.current = nil
		}
		close(c.ended)
		conn := c.rtp
		a.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		a.event(EventEnded, c, nil)
	})
}

// startMedia opens the RTP socket, starts the echo and returns the SDP
// answer.
func (c *Call) startMedia(offer *AudioOffer) ([]byte, error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := c.agent
	a.mu.Lock()
	select {
	case <-c.ended:
		a.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	default:
	}
	c.offer, c.rtp = offer, conn
	a.mu.Unlock()
	if c.agent.track() {
		go func() {
			defer c.agent.wg.Done()
			c.rtpLoop()
		}()
	}
	return c.localSDP(SendRecv), nil
}

// localSDP is our description with a new version.
func (c *Call) localSDP(dir string) []byte {
	o := c.Offer()
	return audioSDP(c.sessID, c.sdpVer.Add(1), c.RTPAddr().Port, o.PT, o.Codec, o.EventPT, dir)
}

// rtpLoop echoes every RTP packet to its source, except telephone-events,
// which it records.
func (c *Call) rtpLoop() {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, from, err := c.rtp.ReadFrom(buf)
		if err != nil {
			return
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		c.rtpIn.Add(1)
		c.agent.rtpIn.Add(1)
		c.lastRTP.Store(time.Now().UnixNano())
		if ua, ok := from.(*net.UDPAddr); ok {
			if old := c.remote.Load(); old == nil || !old.IP.Equal(ua.IP) || old.Port != ua.Port {
				c.remote.Store(ua)
			}
		}
		if c.offer.EventPT >= 0 && int(h.PayloadType) == c.offer.EventPT {
			c.onTelephoneEvent(h.Timestamp, buf[hl:n])
			continue
		}
		if h.PayloadType == c.offer.PT {
			c.heard.addG711(lawOf(c.offer.Codec), buf[hl:n], time.Now())
		}
		if c.noEcho.Load() {
			continue
		}
		c.echoed.Add(1) // before the echo can arrive, so a test that got it reads the count
		if _, err := c.rtp.WriteTo(buf[:n], from); err != nil {
			c.echoed.Add(^uint64(0))
		}
	}
}

// onTelephoneEvent delivers a digit on its first end packet.
func (c *Call) onTelephoneEvent(ts uint32, payload []byte) {
	ev, err := ParseTelephoneEvent(payload)
	if err != nil || !ev.End {
		return
	}
	d, ok := DTMFDigit(ev.Event)
	if !ok {
		return
	}
	c.dtmfMu.Lock()
	for _, seen := range c.seenTE {
		if seen == ts {
			c.dtmfMu.Unlock()
			return
		}
	}
	if len(c.seenTE) == 16 {
		c.seenTE = c.seenTE[1:]
	}
	c.seenTE = append(c.seenTE, ts)
	c.digits = append(c.digits, d)
	c.dtmfMu.Unlock()
	send(c.agent, c.agent.dtmf, d)
}

// remoteTarget is the Request-URI of our requests: the INVITE's Contact.
func (c *Call) remoteTarget() sip.Uri {
	return *c.invite.Contact().Address.Clone()
}

// laddr makes a request leave from the agent's SIP socket.
func (c *Call) laddr(req *sip.Request) {
	port := c.agent.conn.LocalAddr().(*net.UDPAddr).Port
	req.Laddr = sip.Addr{IP: net.IPv4(127, 0, 0, 1), Port: port, Hostname: "127.0.0.1"}
}

// Hangup sends BYE and ends the call (even when the BYE fails).
func (c *Call) Hangup(ctx context.Context) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if !c.isAnswered() {
		return fmt.Errorf("calltest: hangup of a call not answered")
	}
	defer c.end()
	bye := sip.NewRequest(sip.BYE, c.remoteTarget())
	c.laddr(bye)
	if err := c.session.WriteBye(ctx, bye); err != nil {
		return fmt.Errorf("BYE: %w", err)
	}
	return nil
}

// Hold sends a re-INVITE with a=sendonly and returns the answer's
// direction (recvonly expected).
func (c *Call) Hold(ctx context.Context) (string, error) { return c.Reinvite(ctx, SendOnly) }

// Resume sends a re-INVITE with a=sendrecv and returns the answer's
// direction (sendrecv expected).
func (c *Call) Resume(ctx context.Context) (string, error) { return c.Reinvite(ctx, SendRecv) }

// Reinvite sends a re-INVITE offering dir (same port and codecs), ACKs a
// 2xx and returns the answer's direction.
func (c *Call) Reinvite(ctx context.Context, dir string) (string, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if !c.isAnswered() {
		return "", fmt.Errorf("calltest: re-INVITE on a call not answered")
	}
	req := sip.NewRequest(sip.INVITE, c.remoteTarget())
	req.SetBody(c.localSDP(dir))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	c.laddr(req)
	res, err := c.session.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoAnswer
	}
	if err != nil {
		return "", fmt.Errorf("re-INVITE: %w", err)
	}
	if !res.IsSuccess() {
		return "", fmt.Errorf("re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	if err := c.ack(res); err != nil {
		return "", fmt.Errorf("ACK of re-INVITE: %w", err)
	}
	return AudioDirection(string(res.Body()))
}

// ack sends the ACK of a 2xx to our re-INVITE.
func (c *Call) ack(res *sip.Response) error {
	target := c.remoteTarget()
	if ct := res.Contact(); ct != nil {
		target = *ct.Address.Clone()
	}
	ack := sip.NewRequest(sip.ACK, target)
	for _, rr := range c.invite.GetHeaders("Record-Route") {
		ack.AppendHeader(sip.NewHeader("Route", rr.Value()))
	}
	ack.AppendHeader(sip.HeaderClone(res.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(res.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
	maxFwd := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&maxFwd)
	if rt := ack.Route(); rt != nil {
		ack.SetDestination(rt.Address.HostPort())
	}
	ack.SetTransport(c.invite.Transport())
	return c.agent.client.WriteRequest(ack)
}

// SendMessage sends a text/plain MESSAGE within the call.
func (c *Call) SendMessage(ctx context.Context, text string) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if !c.isAnswered() {
		return fmt.Errorf("calltest: MESSAGE on a call not answered")
	}
	req := sip.NewRequest(sip.MESSAGE, c.remoteTarget())
	req.SetBody([]byte(text))
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	c.laddr(req)
	res, err := c.session.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoAnswer
	}
	if err != nil {
		return fmt.Errorf("MESSAGE: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("MESSAGE: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
