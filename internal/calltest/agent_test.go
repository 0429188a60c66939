package calltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/pion/rtp"
)

// fakeSB plays Switchboard toward an agent: a digest-checking registrar
// and a UAC that calls the agent; it answers the agent's in-dialog
// requests and hands them over on requests.
type fakeSB struct {
	t        *testing.T
	addr     string
	dialogUA *sipgo.DialogUA
	bindings chan binding
	requests chan *sip.Request
	backlog  []*sip.Request // requests next skipped
}

type binding struct{ contact, expires string }

func newFakeSB(t *testing.T, password string) *fakeSB {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fake-switchboard"),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	sb := &fakeSB{t: t, bindings: make(chan binding, 10), requests: make(chan *sip.Request, 10)}
	chal := &digest.Challenge{Realm: "example.com", Nonce: "c2VjcmV0", Algorithm: "MD5", QOP: []string{"auth"}}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		h := req.GetHeader("Authorization")
		if h == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
			tx.Respond(res)
			return
		}
		creds, err := digest.ParseCredentials(h.Value())
		if err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 400, err.Error(), nil))
			return
		}
		want, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: creds.URI, Username: creds.Username,
			Password: password, Count: creds.Nc, Cnonce: creds.Cnonce})
		if err != nil || creds.Username != "alice" || creds.Response != want.Response {
			tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		sb.bindings <- binding{req.Contact().Address.String(), req.GetHeader("Expires").Value()}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	inDialog := func(req *sip.Request, tx sip.ServerTransaction) {
		var res *sip.Response
		if req.IsInvite() { // hold and resume: answer the mirrored direction
			dir, err := AudioDirection(string(req.Body()))
			if err != nil {
				tx.Respond(sip.NewResponseFromRequest(req, 488, err.Error(), nil))
				return
			}
			res = sip.NewSDPResponseFromRequest(req, audioSDP(7, 7, 40000, 0, "PCMU", 101, Mirror(dir)))
			res.AppendHeader(&sb.dialogUA.ContactHDR)
		} else if !req.IsAck() {
			res = sip.NewResponseFromRequest(req, 200, "OK", nil)
		}
		if res != nil {
			tx.Respond(res)
		}
		sb.requests <- req
	}
	srv.OnInvite(inDialog)
	srv.OnAck(inDialog)
	srv.OnBye(inDialog)
	srv.OnMessage(inDialog)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb.addr = conn.LocalAddr().String()
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close(); ua.Close() })
	Eventually(t, "fake switchboard listening", func() bool {
		c, err := ua.TransportLayer().GetConnection("udp", sb.addr)
		return err == nil && c != nil
	})
	client, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(sb.addr), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	sb.dialogUA = &sipgo.DialogUA{Client: client,
		ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: "127.0.0.1", Port: port}}}
	return sb
}

// call sends an INVITE like Switchboard's to contact, offering the G.711
// payload types given then telephone-event 101, with RTP on conn.
func (sb *fakeSB) call(ctx context.Context, contact string, conn net.PacketConn, pts string) (*sipgo.DialogClientSession, error) {
	var uri sip.Uri
	if err := sip.ParseUri(contact, &uri); err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.INVITE, uri)
	from := &sip.FromHeader{DisplayName: "Zoé Martin", Address: sip.Uri{Scheme: "sip", User: "visitor", Host: "example.com"}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "example.com"}})
	req.AppendHeader(sip.NewHeader("Switchboard-Call", "call-42"))
	req.AppendHeader(sip.NewHeader("Switchboard-Context", "group=billing&language=fr&page=%2Fpricing&name=Zo%C3%A9+Martin"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	port := conn.LocalAddr().(*net.UDPAddr).Port
	req.SetBody(fmt.Appendf(nil, "v=0\r\no=sb 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %s 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n", port, pts))
	return sb.dialogUA.WriteInvite(ctx, req)
}

// answered calls the agent and waits for its 200, returning the
// provisional statuses seen.
func (sb *fakeSB) answered(t *testing.T, contact string, conn net.PacketConn, pts string) (*sipgo.DialogClientSession, []int) {
	t.Helper()
	ctx := Context(t)
	sess, err := sb.call(ctx, contact, conn, pts)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var codes []int
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		mu.Lock()
		codes = append(codes, res.StatusCode)
		mu.Unlock()
		return nil
	}})
	if err != nil {
		t.Fatalf("INVITE: %v (responses %v)", err, codes)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess, codes
}

// next returns the next in-dialog request of the agent with method (they
// are handled concurrently, so an ACK may come before its INVITE).
func (sb *fakeSB) next(t *testing.T, method sip.RequestMethod) *sip.Request {
	t.Helper()
	for i, req := range sb.backlog {
		if req.Method == method {
			sb.backlog = append(sb.backlog[:i], sb.backlog[i+1:]...)
			return req
		}
	}
	for {
		req := Next(t, sb.requests, string(method))
		if req.Method == method {
			return req
		}
		sb.backlog = append(sb.backlog, req)
	}
}

func rtpConn(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func newAgent(t *testing.T, sb *fakeSB, opts AgentOptions) (*Agent, string) {
	t.Helper()
	opts.Server, opts.User, opts.Password = sb.addr, "alice", "alice-pw"
	a := NewTestAgent(t, opts)
	b := Next(t, sb.bindings, "REGISTER")
	if b.contact != a.Contact() || b.expires != "3600" {
		t.Fatalf("registered %+v, want contact %s for 3600 s", b, a.Contact())
	}
	return a, b.contact
}

func readRTP(t *testing.T, conn *net.UDPConn) *rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	conn.SetReadDeadline(time.Now().Add(Wait))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no RTP came back: %v", err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestAgent_AnswersEchoesRecordsDigitsAndChats(t *testing.T) {
	sb := newFakeSB(t, "alice-pw")
	// Some delay between 180 and 200: sipgo handles each message in a
	// goroutine of its own, so a 180 right before the 200 may be lost.
	a, contact := newAgent(t, sb, AgentOptions{EchoChat: true, Behaviour: Behaviour{Delay: 50 * time.Millisecond}})
	media := rtpConn(t)
	sess, codes := sb.answered(t, contact, media, "0 8")
	if !slices.Contains(codes, 180) || codes[len(codes)-1] != 200 {
		t.Fatalf("responses %v, want 180 then 200", codes)
	}

	inv := Next(t, a.Invites(), "INVITE")
	if inv.From().DisplayName != "Zoé Martin" || inv.GetHeader("Switchboard-Call").Value() != "call-42" {
		t.Fatalf("INVITE recorded: From %q, Switchboard-Call %q", inv.From().DisplayName, inv.GetHeader("Switchboard-Call").Value())
	}
	call := Next(t, a.Answered(), "answered call")
	if ev := NextEvent(t, a, EventAck); ev.Call != call {
		t.Fatal("ACK event of another call")
	}
	vals, err := call.Context()
	if err != nil || call.ID() != "call-42" || call.FromName() != "Zoé Martin" ||
		vals.Get("group") != "billing" || vals.Get("page") != "/pricing" || vals.Get("name") != "Zoé Martin" {
		t.Fatalf("call %q from %q, context %v (%v)", call.ID(), call.FromName(), vals, err)
	}
	if a.Call() != call {
		t.Fatal("the answered call is not the current one")
	}

	ans, err := ParseAudioOffer(string(sess.InviteResponse.Body()))
	if err != nil {
		t.Fatal(err)
	}
	if ans.PT != 0 || ans.Codec != "PCMU" || ans.EventPT != 101 || ans.Direction != SendRecv || !ans.Addr.IP.IsLoopback() {
		t.Fatalf("answer %+v", ans)
	}

	// Audio comes back byte for byte, to where it came from.
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 1600, SSRC: 0xabc},
		Payload: lawPCMU.encode(nil, tone(1000, 160))}
	raw, _ := pkt.Marshal()
	if _, err := media.WriteTo(raw, ans.Addr); err != nil {
		t.Fatal(err)
	}
	back := readRTP(t, media)
	if braw, _ := back.Marshal(); !bytes.Equal(braw, raw) {
		t.Fatalf("echo differs:\n%x\n%x", braw, raw)
	}

	// Digits arrive once each, on their end packets, and are not echoed.
	ts := uint32(3200)
	for _, d := range "1#" {
		ev, _ := DTMFEvent(d)
		for i := range 6 {
			te := TelephoneEvent{Event: ev, Volume: 10, Duration: uint16(min(i+1, 3) * 160), End: i >= 3}
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(8 + i), Timestamp: ts,
				SSRC: 0xabc, Marker: i == 0}, Payload: te.Marshal()}
			b, _ := p.Marshal()
			media.WriteTo(b, ans.Addr)
		}
		ts += 800
	}
	if d := Next(t, a.DTMF(), "digit 1"); d != '1' {
		t.Fatalf("digit %q, want 1", d)
	}
	if d := Next(t, a.DTMF(), "digit #"); d != '#' {
		t.Fatalf("digit %q, want #", d)
	}
	media.WriteTo(raw, ans.Addr)
	if back := readRTP(t, media); back.PayloadType != 0 {
		t.Fatalf("PT %d came back: a telephone-event was echoed", back.PayloadType)
	}
	if call.Digits() != "1#" || call.RTPReceived() != 14 || call.RTPEchoed() != 2 || a.RTPReceived() != 14 {
		t.Fatalf("digits %q, %d RTP in, %d echoed", call.Digits(), call.RTPReceived(), call.RTPEchoed())
	}

	// Chat: MESSAGE in, then its echo within the dialog.
	msg := sip.NewRequest(sip.MESSAGE, sess.InviteResponse.Contact().Address)
	msg.SetBody([]byte("bonjour"))
	msg.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	res, err := sess.Do(Context(t), msg)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("MESSAGE: %v %v", res, err)
	}
	if text := Next(t, a.Messages(), "MESSAGE"); text != "bonjour" {
		t.Fatalf("message %q", text)
	}
	echo := sb.next(t, sip.MESSAGE)
	if string(echo.Body()) != "echo: bonjour" {
		t.Fatalf("echo %q", echo.Body())
	}
	checkInDialog(t, sess, echo)

	// Hold and resume: re-INVITEs whose answers give the direction.
	if dir, err := a.Hold(Context(t)); err != nil || dir != RecvOnly {
		t.Fatalf("hold: %q %v", dir, err)
	}
	reinv := sb.next(t, sip.INVITE)
	checkInDialog(t, sess, reinv)
	if d, _ := AudioDirection(string(reinv.Body())); d != SendOnly {
		t.Fatalf("hold offered %s", d)
	}
	if o, _ := ParseAudioOffer(string(reinv.Body())); o.Addr.Port != ans.Addr.Port {
		t.Fatalf("hold moved the port from %d to %d", ans.Addr.Port, o.Addr.Port)
	}
	if ack := sb.next(t, sip.ACK); ack.CSeq().SeqNo != reinv.CSeq().SeqNo {
		t.Fatalf("ACK CSeq %d for re-INVITE %d", ack.CSeq().SeqNo, reinv.CSeq().SeqNo)
	}
	if dir, err := a.Resume(Context(t)); err != nil || dir != SendRecv {
		t.Fatalf("resume: %q %v", dir, err)
	}
	sb.next(t, sip.ACK)

	// The agent hangs up.
	if err := a.Hangup(Context(t)); err != nil {
		t.Fatal(err)
	}
	checkInDialog(t, sess, sb.next(t, sip.BYE))
	Closed(t, call.Ended(), "call end")
	if a.Call() != nil {
		t.Fatal("a call is still current")
	}
}

// checkInDialog checks a request of the agent within sess's dialog.
func checkInDialog(t *testing.T, sess *sipgo.DialogClientSession, req *sip.Request) {
	t.Helper()
	ourTag, _ := sess.InviteRequest.From().Params.Get("tag")
	agentTag, _ := sess.InviteResponse.To().Params.Get("tag")
	toTag, _ := req.To().Params.Get("tag")
	fromTag, _ := req.From().Params.Get("tag")
	if req.CallID().Value() != sess.InviteRequest.CallID().Value() || toTag != ourTag || fromTag != agentTag ||
		req.Recipient.String() != sess.InviteRequest.Contact().Address.String() {
		t.Fatalf("%s out of the dialog: Call-ID %s, From tag %q (want %q), To tag %q (want %q), R-URI %s",
			req.Method, req.CallID().Value(), fromTag, agentTag, toTag, ourTag, req.Recipient.String())
	}
}

func TestAgent_ChoosesTheFirstG711AndSeesTheOtherSideHangUp(t *testing.T) {
	sb := newFakeSB(t, "alice-pw")
	a, contact := newAgent(t, sb, AgentOptions{})
	sess, _ := sb.answered(t, contact, rtpConn(t), "8 0")
	ans, err := ParseAudioOffer(string(sess.InviteResponse.Body()))
	if err != nil || ans.PT != 8 || ans.Codec != "PCMA" {
		t.Fatalf("answer %+v %v, want PCMA", ans, err)
	}
	call := Next(t, a.Answered(), "answered call")
	if err := sess.Bye(Context(t)); err != nil {
		t.Fatal(err)
	}
	if ev := NextEvent(t, a, EventBye); ev.Call != call {
		t.Fatal("BYE event of another call")
	}
	Closed(t, call.Ended(), "call end")
	if err := a.Hangup(Context(t)); err == nil {
		t.Fatal("hangup without a call succeeded")
	}
	if err := a.Unregister(Context(t)); err != nil {
		t.Fatal(err)
	}
	if b := Next(t, sb.bindings, "unREGISTER"); b.expires != "0" {
		t.Fatalf("unregister with Expires %s", b.expires)
	}
}

func TestAgent_Rejects(t *testing.T) {
	sb := newFakeSB(t, "alice-pw")
	a, contact := newAgent(t, sb, AgentOptions{Behaviour: Behaviour{Action: Reject, Status: 603}})
	sess, err := sb.call(Context(t), contact, rtpConn(t), "0")
	if err != nil {
		t.Fatal(err)
	}
	err = sess.WaitAnswer(Context(t), sipgo.AnswerOptions{})
	var rerr *sipgo.ErrDialogResponse
	if !errors.As(err, &rerr) || rerr.Res.StatusCode != 603 {
		t.Fatalf("answer: %v, want 603", err)
	}
	ev := NextEvent(t, a, EventEnded)
	if ev.Call.ID() != "call-42" || a.Call() != nil || len(a.Calls()) != 0 {
		t.Fatalf("call %q ended; current %v, %d calls", ev.Call.ID(), a.Call(), len(a.Calls()))
	}

	// A behaviour per call: the next one is answered.
	a.SetBehaviour(Behaviour{Action: Answer, Delay: 10 * time.Millisecond})
	sb.answered(t, contact, rtpConn(t), "0")
	Next(t, a.Answered(), "answered call")
}

func TestAgent_RingsUntilCanceled(t *testing.T) {
	sb := newFakeSB(t, "alice-pw")
	a, contact := newAgent(t, sb, AgentOptions{Decide: func(req *sip.Request) Behaviour {
		if strings.Contains(req.From().DisplayName, "Zoé") {
			return Behaviour{Action: Ring}
		}
		return Behaviour{}
	}})
	sess, err := sb.call(Context(t), contact, rtpConn(t), "0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(Context(t))
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if res.StatusCode == 180 {
			cancel() // CANCEL once ringing
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("answer: %v, want canceled", err)
	}
	if res := sess.InviteResponse; res == nil || res.StatusCode != 487 {
		t.Fatalf("final response %v, want 487", res)
	}
	ev := NextEvent(t, a, EventCancel)
	Closed(t, ev.Call.Ended(), "call end")
}
