package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// stack is a whole presence server on loopback: bbolt file, domain
// services and SIP listeners on ephemeral ports.
type stack struct {
	t        testing.TB
	cfg      Config
	pcfg     presence.Config
	dbPath   string
	db       *store.DB
	presence *presence.Service
	srv      *Server
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMain(m *testing.M) {
	sipmsg.SetDefaultLogger(quietLog()) // sipgo logs parse errors with whole messages
	// Short SIP timers so that an unanswered NOTIFY times out in 3.2 s.
	sipmsg.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	os.Exit(m.Run())
}

// newStack starts a server; edit may change the configs first.
func newStack(t testing.TB, edit func(*Config, *presence.Config)) *stack {
	t.Helper()
	st := &stack{t: t, dbPath: filepath.Join(t.TempDir(), "sb.db")}
	st.cfg = Config{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", Host: "127.0.0.1"}
	st.pcfg = presence.DefaultConfig()
	st.pcfg.MinNotifyInterval = 0
	if edit != nil {
		edit(&st.cfg, &st.pcfg)
	}
	st.start()
	t.Cleanup(st.stop)
	return st
}

func (st *stack) start() {
	t := st.t
	t.Helper()
	db, err := store.Open(store.Config{Path: st.dbPath, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(st.cfg, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	svc := presence.New(st.pcfg, db, srv, quietLog())
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	loc := location.New(location.DefaultConfig(), db)
	if err := loc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.ServePresence(svc)
	srv.ServeRegistrar(loc)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	st.db, st.presence, st.srv = db, svc, srv
}

func (st *stack) stop() {
	if st.srv == nil {
		return
	}
	st.srv.Close()
	st.presence.Close()
	st.db.Close()
	st.srv = nil
}

// restart stops the server and starts a new one on the same file and ports.
func (st *stack) restart() {
	st.cfg.UDP, st.cfg.TCP = st.srv.Addr("udp"), st.srv.Addr("tcp")
	st.stop()
	st.start()
}

// peer is a SIP user agent under test control: it sends requests from its
// own UDP (and TCP) listener, so NOTIFYs come back to the same socket, and
// records the NOTIFYs it receives.
type peer struct {
	t        testing.TB
	ua       *sipgo.UserAgent
	client   *sipgo.Client // sends from the UDP listener
	dialer   *sipgo.Client // opens its own TCP connections
	addr     string
	notifies chan *sipmsg.Request
	answer   func(*sipmsg.Request) int // status for each NOTIFY; 200 by default
	onNotify func(*sipmsg.Request)     // replaces queueing on notifies when set
	stop     func()                    // closes the listeners and the UA
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	return newNotifiedPeer(t, nil)
}

// newNotifiedPeer returns a peer that hands every NOTIFY to onNotify (when
// not nil) instead of queueing it.
func newNotifiedPeer(t testing.TB, onNotify func(*sipmsg.Request)) *peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-test"))
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, ua: ua, notifies: make(chan *sipmsg.Request, 100), onNotify: onNotify}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNotify(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
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
	})
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp.(*net.UDPConn).SetReadBuffer(udpBufferBytes)
	p.addr = udp.LocalAddr().String()
	// A TCP listener on the same port takes NOTIFYs too large for UDP.
	tcp, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(udp)
	go srv.ServeTCP(tcp)
	waitFor(t, "peer listening", func() bool { // until the UDP socket is in sipgo's pool
		c, err := ua.TransportLayer().GetConnection("udp", p.addr)
		return err == nil && c != nil
	})
	cancel := func() { udp.Close(); tcp.Close() }
	p.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(p.addr), sipgo.WithClientLogger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	if p.dialer, err = sipgo.NewClient(ua, sipgo.WithClientLogger(quietLog())); err != nil {
		t.Fatal(err)
	}
	p.stop = func() { cancel(); ua.Close() }
	t.Cleanup(p.stop)
	return p
}

// request builds a request from user to uri through the stack at dest.
func (p *peer) request(method sipmsg.RequestMethod, uri, user, dest string, body string, hdrs ...string) *sipmsg.Request {
	p.t.Helper()
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &ruri); err != nil {
		p.t.Fatal(err)
	}
	req := sipmsg.NewRequest(method, ruri)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: ruri})
	host, port, _ := sipmsg.ParseAddr(p.addr)
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

// do sends req and returns the final response.
func (p *peer) do(req *sipmsg.Request) *sipmsg.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := p.client
	if req.Transport() != "UDP" {
		client = p.dialer
	}
	res, err := client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// nextNotify waits for the next NOTIFY.
func (p *peer) nextNotify() *sipmsg.Request {
	p.t.Helper()
	select {
	case n := <-p.notifies:
		return n
	case <-time.After(10 * time.Second):
		p.t.Fatal("no NOTIFY arrived")
		return nil
	}
}

// noNotify checks that no NOTIFY is waiting.
func (p *peer) noNotify() {
	p.t.Helper()
	select {
	case n := <-p.notifies:
		p.t.Fatalf("unexpected NOTIFY: %s", n.GetHeader("Subscription-State").Value())
	default:
	}
}

func header(m interface{ GetHeader(string) sipmsg.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func pidfDoc(entity, tupleID, basic, extra string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="` + entity + `">
<tuple id="` + tupleID + `"><status><basic>` + basic + `</basic></status></tuple>` + extra + `
</presence>`
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
