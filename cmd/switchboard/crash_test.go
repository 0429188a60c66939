package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/siptest"
)

// publish sends one PUBLISH for user to dest, an initial one or, with
// ifMatch, a refresh, and returns the response, or nil when none came.
func publish(p *siptest.Peer, dest, user, ifMatch string) *sipmsg.Response {
	uri := "sip:" + user + "@example.com"
	hdrs := []string{"Event: presence", "Expires: 3600"}
	body := ""
	if ifMatch != "" {
		hdrs = append(hdrs, "SIP-If-Match: "+ifMatch)
	} else {
		hdrs = append(hdrs, "Content-Type: application/pidf+xml")
		body = siptest.PIDF(uri, "t", "open", "")
	}
	res, err := p.TryDo(p.Request(sipmsg.PUBLISH, uri, user, dest, body, hdrs...))
	if err != nil {
		return nil
	}
	return res
}

// subscribe subscribes w to user's presence at dest for an hour.
func subscribe(w *siptest.Peer, dest, user string) {
	w.T.Helper()
	res := w.Do(w.Request(sipmsg.SUBSCRIBE, "sip:"+user+"@example.com", "watcher", dest, "", "Event: presence", "Expires: 3600"))
	if res.StatusCode/100 != 2 {
		w.T.Fatalf("subscribe: %d %s", res.StatusCode, res.Reason)
	}
}

// Every publication acknowledged with a 200 before a SIGKILL, sent while
// the server was under a steady PUBLISH load, is there after the restart,
// and a subscription made before the crash goes on in the same dialog with
// a CSeq that never goes backwards.
func TestCrash_AcknowledgedStateSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	sets := []string{"sip.auth.enabled=false"}
	p := startSwitchboard(t, dir, sets...)
	w := siptest.NewPeer(t)
	subscribe(w, p.UDP, "watched")
	before := w.NextNotify()

	const workers, perWorker = 8, 400
	var mu sync.Mutex
	acked := map[string]string{} // user -> etag
	var wg sync.WaitGroup
	enough := make(chan struct{})
	var once sync.Once
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub := siptest.NewPeer(t)
			for i := range perWorker {
				user := fmt.Sprintf("load-%d-%d", w, i)
				res := publish(pub, p.UDP, user, "")
				if res == nil {
					return // the server is gone
				}
				if res.StatusCode == 200 {
					mu.Lock()
					acked[user] = res.GetHeader("SIP-ETag").Value()
					if len(acked) >= 500 {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				}
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("load did not get going")
	}
	p.kill() // while the workers are still publishing
	wg.Wait()

	// The UDP port must stay the same: the watcher's dialog points at it.
	p = startSwitchboard(t, dir, append(sets, "sip.udp="+p.UDP)...)
	pub := siptest.NewPeer(t)
	if res := publish(pub, p.UDP, "watched", ""); res == nil || res.StatusCode != 200 {
		t.Fatalf("publish after restart: %v", res)
	}
	after := w.NextNotify()
	if *after.CallID() != *before.CallID() || after.CSeq().SeqNo <= before.CSeq().SeqNo {
		t.Fatalf("after restart: Call-ID %s CSeq %d, before: %s CSeq %d",
			*after.CallID(), after.CSeq().SeqNo, *before.CallID(), before.CSeq().SeqNo)
	}
	lost := 0
	for user, etag := range acked {
		if res := publish(pub, p.UDP, user, etag); res == nil || res.StatusCode != 200 {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged publications lost after SIGKILL", lost, len(acked))
	}
	t.Logf("%d acknowledged publications all present after SIGKILL and restart", len(acked))
}
