package sip

import (
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
)

func register(p *siptest.Peer, st *stack, callID string, cseq uint32, hdrs ...string) *sipmsg.Response {
	p.T.Helper()
	req := p.Request("REGISTER", "sip:example.com", "alice", st.srv.Addr("udp"), "", hdrs...)
	req.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	req.From().Address = req.To().Address
	cid := sipmsg.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: "REGISTER"})
	return p.Do(req)
}

func TestRegister_BindQueryRefreshAndRemove(t *testing.T) {
	st := newStack(t, nil)
	p := siptest.NewPeer(t)
	res := register(p, st, "reg-1", 1, "Expires: 600")
	if res.StatusCode != 200 || !strings.Contains(siptest.Header(res, "Contact"), "expires=600") {
		t.Fatalf("register: %d Contact=%q", res.StatusCode, siptest.Header(res, "Contact"))
	}
	if res := register(p, st, "reg-1", 1, "Expires: 600"); res.StatusCode != 500 {
		t.Fatalf("replayed CSeq: %d, want 500", res.StatusCode)
	}
	if res := register(p, st, "reg-1", 2, "Expires: 10"); res.StatusCode != 423 || siptest.Header(res, "Min-Expires") != "60" {
		t.Fatalf("too brief: %d Min-Expires=%q", res.StatusCode, siptest.Header(res, "Min-Expires"))
	}
	res = register(p, st, "reg-1", 3, "Expires: 0")
	if res.StatusCode != 200 || siptest.Header(res, "Contact") != "" {
		t.Fatalf("remove: %d Contact=%q", res.StatusCode, siptest.Header(res, "Contact"))
	}
}

func TestRegister_WildcardRemovesAll(t *testing.T) {
	st := newStack(t, nil)
	p := siptest.NewPeer(t)
	register(p, st, "reg-2", 1, "Expires: 600")
	req := p.Request("REGISTER", "sip:example.com", "alice", st.srv.Addr("udp"), "", "Expires: 0")
	req.RemoveHeader("Contact")
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Wildcard: true}})
	req.To().Address = sipmsg.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	if res := p.Do(req); res.StatusCode != 200 || siptest.Header(res, "Contact") != "" {
		t.Fatalf("wildcard: %d Contact=%q", res.StatusCode, siptest.Header(res, "Contact"))
	}
}
