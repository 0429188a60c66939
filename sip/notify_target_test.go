package sip

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
)

// thirdHost listens on 127.0.0.2 (another loopback address, the "third
// host" a subscriber names) over UDP and TCP on one port, and counts what
// reaches it.
type thirdHost struct {
	port             int
	datagrams, conns atomic.Int64
	got              chan string
}

func newThirdHost(t *testing.T) *thirdHost {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		pc.Close()
		t.Skipf("no TCP on 127.0.0.2:%d: %v", port, err)
	}
	h := &thirdHost{port: port, got: make(chan string, 64)}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			h.datagrams.Add(1)
			select {
			case h.got <- string(buf[:n]):
			default:
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.conns.Add(1)
			c.Close()
		}
	}()
	return h
}

func (h *thirdHost) uri() string { return "sip:127.0.0.2:" + strconv.Itoa(h.port) }

// A Record-Route naming a third host is not followed: the NOTIFY goes back
// to the subscriber; it is followed when the SUBSCRIBE came from a trusted
// proxy.
func TestNotify_RecordRouteFollowedOnlyFromTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(map[bool]string{false: "untrusted", true: "trusted"}[trusted], func(t *testing.T) {
			st := newStack(t, func(c *Config, _ *presence.Config) {
				if trusted {
					c.TrustedProxies = []string{"127.0.0.1"}
				}
			})
			third := newThirdHost(t)
			w := siptest.NewPeer(t)
			if res := subscribe(w, st, alice, "Event: presence", "Record-Route: <"+third.uri()+";lr>"); res.StatusCode/100 != 2 {
				t.Fatalf("subscribe: %d", res.StatusCode)
			}
			if !trusted {
				w.NextNotify() // the subscriber gets it: the route was not followed
				if n := third.datagrams.Load(); n != 0 {
					t.Fatalf("%d datagrams reached the third host", n)
				}
				return
			}
			select {
			case msg := <-third.got:
				if !strings.HasPrefix(msg, "NOTIFY ") || !strings.Contains(msg, "Route: <"+third.uri()+";lr>") {
					t.Fatalf("the trusted route got:\n%s", msg)
				}
			case <-time.After(siptest.Wait):
				t.Fatal("no NOTIFY along the trusted route")
			}
		})
	}
}

// A NOTIFY too large for UDP goes over TCP to the address the SUBSCRIBE
// came from, not to the host its Contact names.
func TestNotify_LargeNotifyNeverOpensAConnectionToTheContactHost(t *testing.T) {
	st := newStack(t, nil)
	third := newThirdHost(t)
	w := siptest.NewPeer(t)
	req := w.Request("SUBSCRIBE", alice, "bob", st.srv.Addr("udp"), "", "Event: presence")
	req.ReplaceHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.2", Port: third.port}})
	if res := w.Do(req); res.StatusCode/100 != 2 {
		t.Fatalf("subscribe: %d", res.StatusCode)
	}
	w.NextNotify()
	publishLarge(t, w, st)
	if n := w.NextNotify(); n.Transport() != "TCP" || !strings.Contains(string(n.Body()), "busy busy") {
		t.Fatalf("the large NOTIFY came over %s", n.Transport())
	}
	if c, d := third.conns.Load(), third.datagrams.Load(); c != 0 || d != 0 {
		t.Fatalf("the Contact's host got %d connections and %d datagrams", c, d)
	}
}

// A NOTIFY asked for before Start (a presence timer firing while the stack
// is not listening yet) fails with an error, without touching the client.
func TestNotify_BeforeStartIsAnError(t *testing.T) {
	srv, err := NewServer(Config{UDP: "127.0.0.1:0", Host: "127.0.0.1"}, nil, siptest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	d := subDialog{CallID: "c", LocalTag: "l", RemoteTag: "r", LocalURI: alice, RemoteURI: "sip:bob@example.com",
		RemoteTarget: "sip:bob@127.0.0.1:5999", Transport: "UDP", Source: "127.0.0.1:5999"}
	n := presence.Notification{Subscription: presence.Subscription{ID: d.id(), Presentity: alice, Dialog: d.encode()},
		Seq: 1, State: presence.StateActive, Body: []byte("<presence/>")}
	if err := srv.Notify(t.Context(), n); err == nil {
		t.Fatal("a NOTIFY before Start did not fail")
	}
}
