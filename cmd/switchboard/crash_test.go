package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// publisher sends PUBLISHes from its own sipgo client.
type publisher struct {
	client *sipgo.Client
}

func newPublisher(t *testing.T) *publisher {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	c, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	return &publisher{client: c}
}

// publish sends one PUBLISH for user to dest and returns the response, or
// nil when none came.
func (p *publisher) publish(dest, user, ifMatch string) *sipmsg.Response {
	uri := sipmsg.Uri{Scheme: "sip", User: user, Host: "example.com"}
	req := sipmsg.NewRequest(sipmsg.PUBLISH, uri)
	req.AppendHeader(&sipmsg.ToHeader{Address: uri})
	from := &sipmsg.FromHeader{Address: uri}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
	req.AppendHeader(sipmsg.NewHeader("Expires", "3600"))
	if ifMatch != "" {
		req.AppendHeader(sipmsg.NewHeader("SIP-If-Match", ifMatch))
	} else {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/pidf+xml"))
		req.SetBody([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + uri.String() +
			`"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`))
	}
	req.SetDestination(dest)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return nil
	}
	return res
}

// Every publication acknowledged with a 200 before a SIGKILL, sent while
// the server was under a steady PUBLISH load, is there after the restart,
// and a subscription made before the crash goes on in the same dialog with
// a CSeq that never goes backwards.
func TestCrash_AcknowledgedStateSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	sets := []string{"sip.auth.enabled=false"}
	p := startSwitchboard(t, dir, sets...)
	w := newWatcher(t)
	w.subscribe(p.UDP, "watched")
	before := w.next()

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
			pub := newPublisher(t)
			for i := range perWorker {
				user := fmt.Sprintf("load-%d-%d", w, i)
				res := pub.publish(p.UDP, user, "")
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
	pub := newPublisher(t)
	if res := pub.publish(p.UDP, "watched", ""); res == nil || res.StatusCode != 200 {
		t.Fatalf("publish after restart: %v", res)
	}
	after := w.next()
	if *after.CallID() != *before.CallID() || after.CSeq().SeqNo <= before.CSeq().SeqNo {
		t.Fatalf("after restart: Call-ID %s CSeq %d, before: %s CSeq %d",
			*after.CallID(), after.CSeq().SeqNo, *before.CallID(), before.CSeq().SeqNo)
	}
	lost := 0
	for user, etag := range acked {
		if res := pub.publish(p.UDP, user, etag); res == nil || res.StatusCode != 200 {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged publications lost after SIGKILL", lost, len(acked))
	}
	t.Logf("%d acknowledged publications all present after SIGKILL and restart", len(acked))
}
