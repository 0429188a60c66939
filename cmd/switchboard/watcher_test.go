package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// watcher subscribes from its own UDP socket and collects NOTIFYs.
type watcher struct {
	t        *testing.T
	client   *sipgo.Client
	addr     string
	notifies chan *sipmsg.Request
}

func newWatcher(t *testing.T) *watcher {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	w := &watcher{t: t, notifies: make(chan *sipmsg.Request, 16)}
	srv.OnNotify(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
		w.notifies <- req
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = conn.LocalAddr().String()
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close(); ua.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for { // until sipgo has the socket in its pool, so requests leave from it
		if c, err := ua.TransportLayer().GetConnection("udp", w.addr); err == nil && c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("watcher socket not ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if w.client, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(w.addr)); err != nil {
		t.Fatal(err)
	}
	return w
}

// subscribe subscribes to user's presence at dest for an hour.
func (w *watcher) subscribe(dest, user string) {
	w.t.Helper()
	uri := sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}
	req := sipmsg.NewRequest(sipmsg.SUBSCRIBE, uri)
	req.AppendHeader(&sipmsg.ToHeader{Address: uri})
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "watcher", Host: "example.com"}}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	host, port, _ := sipmsg.ParseAddr(w.addr)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", Host: host, Port: port}})
	req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
	req.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
	req.SetDestination(dest)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := w.client.Do(ctx, req)
	if err != nil || res.StatusCode/100 != 2 {
		w.t.Fatalf("subscribe: %v %v", res, err)
	}
}

func (w *watcher) next() *sipmsg.Request {
	w.t.Helper()
	select {
	case n := <-w.notifies:
		return n
	case <-time.After(10 * time.Second):
		w.t.Fatal("no NOTIFY")
		return nil
	}
}
