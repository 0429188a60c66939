package sip

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/store"
)

// capturedTx records what a handler answers; it stands in for sipgo's
// server transaction, so the fuzzer drives the handler without sockets.
type capturedTx struct {
	mu        sync.Mutex
	responses []*sipmsg.Response
	done      chan struct{}
}

func (tx *capturedTx) Respond(res *sipmsg.Response) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.responses = append(tx.responses, res)
	return nil
}
func (tx *capturedTx) Acks() <-chan *sipmsg.Request          { return nil }
func (tx *capturedTx) OnCancel(sipmsg.FnTxCancel) bool       { return false }
func (tx *capturedTx) Terminate()                            {}
func (tx *capturedTx) OnTerminate(sipmsg.FnTxTerminate) bool { return false }
func (tx *capturedTx) Done() <-chan struct{}                 { return tx.done }
func (tx *capturedTx) Err() error                            { return nil }

// FuzzPublish feeds whole SIP messages to the PUBLISH handler: it must
// answer exactly once, never with 500 (a recovered panic or an unexpected
// error), and a refusal must leave the stored publications as they were.
func FuzzPublish(f *testing.F) {
	for _, seed := range []string{
		"PUBLISH sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:alice@example.com>\r\nCall-ID: c1\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 3600\r\nContent-Type: application/pidf+xml\r\n\r\n" + siptest.PIDF(alice, "t1", "open", ""),
		"PUBLISH sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:alice@example.com>\r\nCall-ID: c2\r\nCSeq: 2 PUBLISH\r\nEvent: presence\r\nSIP-If-Match: abc\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n",
		"PUBLISH sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK3\r\nFrom: <sip:bob@example.com>;tag=b\r\nTo: <sip:bob@example.com>\r\nCall-ID: c3\r\nCSeq: 3 PUBLISH\r\nEvent: presence;id=7\r\nContent-Type: application/pidf+xml;charset=UTF-8\r\n\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:bob@example.com\"><tuple id=\"x\"><status><basic>closed</basic></status></tuple></presence>",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	db, err := store.Open(store.Config{Path: filepath.Join(dir, "fuzz.db"), BatchDelay: time.Microsecond})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	srv, err := NewServer(Config{UDP: "127.0.0.1:0"}, nil, siptest.Quiet())
	if err != nil {
		f.Fatal(err)
	}
	svc := presence.New(presence.DefaultConfig(), db, srv, siptest.Quiet())
	defer svc.Close()
	srv.ServePresence(svc)
	handler := srv.handle(srv.onPublish)

	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := sipmsg.ParseMessage(raw)
		if err != nil {
			return // sipgo's transport drops what it cannot parse
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok || req.Method != sipmsg.PUBLISH {
			return
		}
		before := svc.Stats().Publications
		tx := &capturedTx{done: make(chan struct{})}
		handler(req, tx)
		if len(tx.responses) != 1 {
			t.Fatalf("%d responses, want exactly 1", len(tx.responses))
		}
		res := tx.responses[0]
		if res.StatusCode == 500 {
			t.Fatalf("500 %s for:\n%q", res.Reason, raw)
		}
		if res.StatusCode != 200 && svc.Stats().Publications != before {
			t.Fatalf("%d %s changed the stored publications", res.StatusCode, res.Reason)
		}
		if res.ContentLength() == nil {
			t.Fatal("response without Content-Length")
		}
	})
}

// FuzzCallRequests feeds whole INVITE, BYE and MESSAGE requests to the
// B2BUA's handlers with no call up: each gets exactly one answer, never a
// 500 (an INVITE outside a dialog 403, one inside an unknown dialog 481).
func FuzzCallRequests(f *testing.F) {
	for _, seed := range []string{
		"INVITE sip:switchboard@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:switchboard@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n",
		"INVITE sip:switchboard@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK2\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:visitor@example.com>;tag=b\r\nCall-ID: c2\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n",
		"BYE sip:switchboard@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK3\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:visitor@example.com>;tag=b\r\nCall-ID: c3\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
		"MESSAGE sip:switchboard@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK4\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:visitor@example.com>;tag=b\r\nCall-ID: c4\r\nCSeq: 4 MESSAGE\r\nContent-Type: text/plain\r\n\r\nhello",
	} {
		f.Add([]byte(seed))
	}
	srv, err := NewServer(Config{UDP: "127.0.0.1:0"}, nil, siptest.Quiet())
	if err != nil {
		f.Fatal(err)
	}
	handlers := map[sipmsg.RequestMethod]func(*sipmsg.Request, sipmsg.ServerTransaction){
		sipmsg.INVITE: srv.handle(srv.onInvite), sipmsg.BYE: srv.handle(srv.onBye), sipmsg.MESSAGE: srv.handle(srv.onMessage),
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := sipmsg.ParseMessage(raw)
		if err != nil {
			return
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok || handlers[req.Method] == nil {
			return
		}
		tx := &capturedTx{done: make(chan struct{})}
		handlers[req.Method](req, tx)
		if len(tx.responses) != 1 {
			t.Fatalf("%d responses, want exactly 1", len(tx.responses))
		}
		if res := tx.responses[0]; res.StatusCode == 500 || res.StatusCode < 400 {
			t.Fatalf("%d %s for a request of no call:\n%q", res.StatusCode, res.Reason, raw)
		}
	})
}
