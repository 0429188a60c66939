package sip

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

const agentAOR = "sip:alice@example.com"

// hop stands for a proxy on 127.0.0.1 that a phone registered through
// (its Path): it answers the INVITE itself, record-routing it, with a
// Contact where nothing listens, so that only requests along the route
// set reach it; it hands over every request it gets.
type hop struct {
	addr string
	uri  string // <sip:addr;lr>, its Path and Record-Route
	reqs chan *sipmsg.Request
}

// phoneContact is the phone's Contact behind the hop: nothing listens
// there.
const phoneContact = "sip:alice@127.0.0.1:9"

func newHop(t *testing.T) *hop {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("hop"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(siptest.Quiet()))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hop{addr: conn.LocalAddr().String(), reqs: make(chan *sipmsg.Request, 16)}
	h.uri = "<sip:" + h.addr + ";lr>"
	ok := func(req *sipmsg.Request, tx sipmsg.ServerTransaction, hdrs ...sipmsg.Header) {
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		if _, tagged := res.To().Params.Get("tag"); !tagged {
			res.To().Params.Add("tag", sipmsg.GenerateTagN(8))
		}
		for _, hdr := range hdrs {
			res.AppendHeader(hdr)
		}
		h.reqs <- req // before the answer, which the next request follows
		tx.Respond(res)
	}
	var contact sipmsg.Uri
	if err := sipmsg.ParseUri(phoneContact, &contact); err != nil {
		t.Fatal(err)
	}
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		ok(req, tx, sipmsg.NewHeader("Record-Route", h.uri), &sipmsg.ContactHeader{Address: contact},
			sipmsg.NewHeader("Content-Type", "application/sdp"))
	})
	srv.OnAck(func(req *sipmsg.Request, _ sipmsg.ServerTransaction) { h.reqs <- req })
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { ok(req, tx) })
	srv.OnMessage(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { ok(req, tx) })
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close(); ua.Close() })
	return h
}

// next returns the next request the hop got, of method m.
func (h *hop) next(t *testing.T, m sipmsg.RequestMethod) *sipmsg.Request {
	t.Helper()
	select {
	case req := <-h.reqs:
		if req.Method != m {
			t.Fatalf("hop got %s, want %s", req.Method, m)
		}
		return req
	case <-time.After(siptest.Wait):
		t.Fatalf("no %s reached the hop", m)
		return nil
	}
}

// routes returns the Route values of req, in order.
func routes(req *sipmsg.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Route") {
		out = append(out, h.Value())
	}
	return out
}

// pathStack is a server that places calls and trusts 127.0.0.1 as a
// proxy, not 127.0.0.2.
func pathStack(t *testing.T) *stack {
	return newStack(t, func(c *Config, _ *presence.Config) { c.TrustedProxies = []string{"127.0.0.1"} },
		func(st *stack) { st.calls = true })
}

// registerVia registers alice at phoneContact from p, with the headers
// given (Path, Supported...).
func registerVia(p *siptest.Peer, st *stack, cseq uint32, hdrs ...string) *sipmsg.Response {
	p.T.Helper()
	req := p.Request("REGISTER", "sip:example.com", "alice", st.srv.Addr("udp"), "", append(hdrs, "Expires: 600")...)
	req.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	req.From().Address = req.To().Address
	if err := sipmsg.ParseUri(phoneContact, &req.Contact().Address); err != nil {
		p.T.Fatal(err)
	}
	cid := sipmsg.CallIDHeader("path-" + p.Addr)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: "REGISTER"})
	return p.Do(req)
}

// A REGISTER through a trusted proxy keeps its Path, all its values in
// order, and the 200 echoes them only to a phone that said "Supported:
// path" (RFC 3327 §5.3); "Require: path" is no bad extension.
func TestRegister_PathFromATrustedProxyIsKept(t *testing.T) {
	st := pathStack(t)
	p := siptest.NewPeer(t)
	want := []string{"<sip:127.0.0.1:5071;lr>", "<sip:192.0.2.1;lr>", "<sip:192.0.2.2;lr>"}
	hdrs := []string{"Path: " + want[0], "Path: " + want[1] + ", " + want[2]}

	res := registerVia(p, st, 1, hdrs...)
	if res.StatusCode != 200 || len(res.GetHeaders("Path")) != 0 {
		t.Fatalf("without Supported: path: %d, Path %q", res.StatusCode, siptest.Header(res, "Path"))
	}
	if bs := st.location.Lookup(agentAOR); len(bs) != 1 || !slices.Equal(bs[0].Path, want) {
		t.Fatalf("bindings: %+v, want path %q", bs, want)
	}
	res = registerVia(p, st, 2, append(hdrs, "Supported: replaces, path")...)
	var echoed []string
	for _, h := range res.GetHeaders("Path") {
		echoed = append(echoed, h.Value())
	}
	if res.StatusCode != 200 || !slices.Equal(echoed, want) {
		t.Fatalf("with Supported: path: %d, Path %q, want %q", res.StatusCode, echoed, want)
	}
	if res := registerVia(p, st, 3, append(hdrs, "Require: path")...); res.StatusCode != 200 {
		t.Fatalf("Require: path: %d %s", res.StatusCode, res.Reason)
	}
	if res := registerVia(p, st, 4, append(hdrs, "Require: path, 100rel")...); res.StatusCode != 420 ||
		siptest.Header(res, "Unsupported") != "100rel" {
		t.Fatalf("Require: path, 100rel: %d, Unsupported %q", res.StatusCode, siptest.Header(res, "Unsupported"))
	}
}

// The Path of a REGISTER from anyone but a trusted proxy is ignored:
// neither kept nor echoed, and calls go to the contact.
func TestRegister_PathFromAnUntrustedSourceIsIgnored(t *testing.T) {
	st := pathStack(t)
	p := siptest.NewPeer(t, siptest.Host("127.0.0.2"))
	res := registerVia(p, st, 1, "Path: <sip:127.0.0.2:5071;lr>", "Supported: path")
	if res.StatusCode != 200 || len(res.GetHeaders("Path")) != 0 {
		t.Fatalf("register: %d, Path %q", res.StatusCode, siptest.Header(res, "Path"))
	}
	if bs := st.location.Lookup(agentAOR); len(bs) != 1 || bs[0].Path != nil {
		t.Fatalf("bindings: %+v, want no path", bs)
	}
}

// A call to an agent registered through a proxy goes to the proxy, with
// the Path as Route and the contact as Request-URI; the ACK and BYE
// follow the route set of the 2xx's Record-Route; so does a chat
// MESSAGE outside the call, along the Path.
func TestDial_FollowsThePathAndTheRouteSet(t *testing.T) {
	st := pathStack(t)
	h := newHop(t)
	registerVia(siptest.NewPeer(t), st, 1, "Path: "+h.uri)
	ctx, cancel := context.WithTimeout(context.Background(), siptest.Wait)
	defer cancel()

	leg, err := st.srv.Dial(ctx, agentAOR, calls.Offer{CallID: "c1", SDP: []byte("v=0\r\n")}, nopLeg{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []sipmsg.RequestMethod{sipmsg.INVITE, sipmsg.ACK} {
		req := h.next(t, m)
		if got := routes(req); req.Recipient.String() != phoneContact || !slices.Equal(got, []string{h.uri}) {
			t.Fatalf("%s: Request-URI %s, Route %q; want %s, [%s]", m, req.Recipient.String(), got, phoneContact, h.uri)
		}
	}
	if err := leg.Hangup(ctx, calls.Cause{}); err != nil {
		t.Fatal(err)
	}
	if bye := h.next(t, sipmsg.BYE); !slices.Equal(routes(bye), []string{h.uri}) {
		t.Fatalf("BYE: Route %q", routes(bye))
	}
	if err := st.srv.Message(ctx, agentAOR, "chat1", "Visitor", "hello"); err != nil {
		t.Fatal(err)
	}
	if msg := h.next(t, sipmsg.MESSAGE); msg.Recipient.String() != phoneContact || !slices.Equal(routes(msg), []string{h.uri}) {
		t.Fatalf("MESSAGE: Request-URI %s, Route %q", msg.Recipient.String(), routes(msg))
	}
}

// nopLeg is a calls.LegHandler that ignores everything.
type nopLeg struct{}

func (nopLeg) Ringing([]byte)                 {}
func (nopLeg) Reoffer([]byte) ([]byte, error) { return nil, nil }
func (nopLeg) Message(string)                 {}
func (nopLeg) HungUp()                        {}
