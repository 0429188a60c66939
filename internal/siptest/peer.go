// Package siptest is a SIP user agent for tests over loopback: it sends
// requests from its own UDP socket (with a TCP listener on the same port),
// so NOTIFYs and other requests come back where a phone would receive
// them, and it records the NOTIFYs it gets. It uses sipgo as a real peer;
// nothing is mocked.
package siptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Wait bounds every wait of a Peer.
const Wait = 10 * time.Second

// Peer is one user agent.
type Peer struct {
	T        testing.TB
	UA       *sipgo.UserAgent
	Addr     string // the UDP (and TCP) address it listens and sends from
	client   *sipgo.Client
	dialer   *sipgo.Client // opens its own TCP and TLS connections
	notifies chan *sipmsg.Request
	answer   func(*sipmsg.Request) int
	onNotify func(*sipmsg.Request)
	close    func()
	host     string // the loopback address it binds
}

// Option adjusts a new Peer.
type Option func(*Peer)

// Answer makes the peer answer each NOTIFY with the status f returns
// (200 by default).
func Answer(f func(*sipmsg.Request) int) Option { return func(p *Peer) { p.answer = f } }

// Host binds the peer to another loopback address than 127.0.0.1 (say
// 127.0.0.2), as a phone on another host.
func Host(ip string) Option { return func(p *Peer) { p.host = ip } }

// OnNotify hands every NOTIFY to f instead of queueing it for NextNotify.
func OnNotify(f func(*sipmsg.Request)) Option { return func(p *Peer) { p.onNotify = f } }

// Quiet returns a logger that drops everything.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// NewPeer starts a peer on 127.0.0.1 (see Host); it stops with the test.
func NewPeer(t testing.TB, opts ...Option) *Peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-test"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{T: t, UA: ua, notifies: make(chan *sipmsg.Request, 100), host: "127.0.0.1"}
	for _, o := range opts {
		o(p)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(Quiet()))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNotify(p.handleNotify)
	udp, tcp, err := listenPair(p.host)
	if err != nil {
		t.Fatal(err)
	}
	udp.(*net.UDPConn).SetReadBuffer(4 << 20) // room for a fan-out burst
	p.Addr = udp.LocalAddr().String()
	go srv.ServeUDP(udp)
	go srv.ServeTCP(tcp)
	p.close = func() { udp.Close(); tcp.Close(); ua.Close() }
	t.Cleanup(p.Stop)
	// sipgo registers the socket in its pool after Serve starts; a client
	// bound to the address before that would try to bind it again.
	WaitFor(t, "peer listening", func() bool {
		c, err := ua.TransportLayer().GetConnection("udp", p.Addr)
		return err == nil && c != nil
	})
	if p.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(p.Addr), sipgo.WithClientLogger(Quiet())); err != nil {
		t.Fatal(err)
	}
	if p.dialer, err = sipgo.NewClient(ua, sipgo.WithClientLogger(Quiet())); err != nil {
		t.Fatal(err)
	}
	return p
}

// listenPair binds a UDP socket on a free loopback port and a TCP listener
// on the same port (for NOTIFYs too large for UDP), trying other ports when
// the TCP one is taken.
func listenPair(host string) (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		udp, uerr := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if uerr != nil {
			return nil, nil, uerr
		}
		tcp, terr := net.Listen("tcp", udp.LocalAddr().String())
		if terr == nil {
			return udp, tcp, nil
		}
		udp.Close()
		err = terr
	}
	return nil, nil, err
}

func (p *Peer) handleNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	code := 200
	if p.answer != nil {
		code = p.answer(req)
	}
	tx.Respond(sipmsg.NewResponseFromRequest(req, code, "Test", nil))
	if p.onNotify != nil {
		p.onNotify(req)
		return
	}
	p.notifies <- req
}

// Stop closes the peer's sockets: it goes silent, as a vanished phone.
func (p *Peer) Stop() { p.close() }

// Request builds a request from user@example.com to uri, with the peer's
// Contact, headers given as "Name: value", and body, to be sent to dest.
func (p *Peer) Request(method sipmsg.RequestMethod, uri, user, dest, body string, hdrs ...string) *sipmsg.Request {
	p.T.Helper()
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &ruri); err != nil {
		p.T.Fatal(err)
	}
	req := sipmsg.NewRequest(method, ruri)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: ruri})
	host, port, _ := sipmsg.ParseAddr(p.Addr)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: host, Port: port}})
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ":")
		req.AppendHeader(sipmsg.NewHeader(k, strings.TrimSpace(v)))
	}
	if body != "" {
		req.SetBody([]byte(body))
	}
	req.SetDestination(dest)
	return req
}

// TryDo sends req (UDP from the peer's socket, other transports over
// connections of their own) and returns the final response.
func (p *Peer) TryDo(req *sipmsg.Request) (*sipmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	client := p.client
	if req.Transport() != "UDP" {
		client = p.dialer
	}
	res, err := client.Do(ctx, req)
	if err == nil && res == nil { // sipgo's answer when its layers close mid-transaction
		err = errors.New("transaction ended without an answer")
	}
	return res, err
}

// Do is TryDo that fails the test on error.
func (p *Peer) Do(req *sipmsg.Request) *sipmsg.Response {
	p.T.Helper()
	res, err := p.TryDo(req)
	if err != nil {
		p.T.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// DoAuth sends req and, when challenged, answers the challenge as user.
func (p *Peer) DoAuth(req *sipmsg.Request, user, password string) *sipmsg.Response {
	p.T.Helper()
	res := p.Do(req)
	if res.StatusCode != 401 && res.StatusCode != 407 {
		return res
	}
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	res, err := p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	if err != nil {
		p.T.Fatal(err)
	}
	return res
}

// NextNotify waits for the next NOTIFY.
func (p *Peer) NextNotify() *sipmsg.Request {
	p.T.Helper()
	select {
	case n := <-p.notifies:
		return n
	case <-time.After(Wait):
		p.T.Fatal("no NOTIFY arrived")
		return nil
	}
}

// Notifies delivers the NOTIFYs received, unless OnNotify took them.
func (p *Peer) Notifies() <-chan *sipmsg.Request { return p.notifies }

// NoNotify fails the test if a NOTIFY is waiting.
func (p *Peer) NoNotify() {
	p.T.Helper()
	select {
	case n := <-p.notifies:
		p.T.Fatalf("unexpected NOTIFY: %s", Header(n, "Subscription-State"))
	default:
	}
}

// Header returns the value of a message's header, "" when absent.
func Header(m interface{ GetHeader(string) sipmsg.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// PIDF returns a presence document for entity with one tuple, and extra
// elements (RPID person, notes) after it.
func PIDF(entity, tupleID, basic, extra string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="` + entity + `">
<tuple id="` + tupleID + `"><status><basic>` + basic + `</basic></status></tuple>` + extra + `
</presence>`
}

// WaitFor polls cond until it holds, failing the test after 15 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
