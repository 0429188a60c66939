package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// clock is a hand-driven clock for the rewriter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func send(t *testing.T, r *Rewriter, ssrc uint32, seq uint16, ts uint32) (rtp.Header, bool) {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 0, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}
	ok := r.Rewrite(&h)
	return h, ok
}

func TestRewriter_OneSourcePassesThroughWithOurSSRC(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	r := NewRewriter(0xABCD, 8000, c.now)
	for i := range 5 {
		h, ok := send(t, r, 7, uint16(100+i), uint32(1000+160*i))
		if !ok || h.SSRC != 0xABCD || h.SequenceNumber != uint16(100+i) || h.Timestamp != uint32(1000+160*i) {
			t.Fatalf("packet %d: %+v %v", i, h, ok)
		}
	}
}

func TestRewriter_NewSourceAfterHoldContinuesForward(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	r := NewRewriter(1, 8000, c.now)
	var last rtp.Header
	for i := range 3 {
		last, _ = send(t, r, 7, uint16(60000+i), uint32(9000+160*i))
	}
	c.t = c.t.Add(2 * time.Second) // on hold, then a new stream, numbered from scratch
	h, ok := send(t, r, 8, 5, 50)
	if !ok || h.SequenceNumber != last.SequenceNumber+1 {
		t.Fatalf("sequence %d after %d", h.SequenceNumber, last.SequenceNumber)
	}
	if gap := h.Timestamp - last.Timestamp; gap < 16000 || gap > 16000+160 {
		t.Fatalf("timestamp advanced %d, want about 2 s at 8 kHz", gap)
	}
	next, _ := send(t, r, 8, 6, 210)
	if next.SequenceNumber != h.SequenceNumber+1 || next.Timestamp != h.Timestamp+160 {
		t.Fatalf("the new source does not run on: %+v after %+v", next, h)
	}
}

func TestRewriter_SameSSRCRenumberedIsANewSource(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	r := NewRewriter(1, 8000, c.now)
	last, _ := send(t, r, 7, 20000, 5000)
	c.t = c.t.Add(20 * time.Millisecond)
	h, _ := send(t, r, 7, 10, 100) // the phone restarted its numbering
	if h.SequenceNumber != last.SequenceNumber+1 || h.Timestamp <= last.Timestamp {
		t.Fatalf("went from %+v to %+v", last, h)
	}
}

func TestRewriter_ReorderingKeptLateDropped(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	r := NewRewriter(1, 8000, c.now)
	send(t, r, 7, 100, 0)
	send(t, r, 7, 102, 320)
	if h, ok := send(t, r, 7, 101, 160); !ok || h.SequenceNumber != 101 {
		t.Fatalf("a reordered packet: %+v %v", h, ok)
	}
	for i := range 100 {
		send(t, r, 7, uint16(103+i), uint32(480+160*i))
	}
	if _, ok := send(t, r, 7, 101, 160); ok {
		t.Fatal("a packet 100 behind was sent: SRTP would take it for a replay")
	}
}

func TestRewriter_SequenceWrapsForward(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	r := NewRewriter(1, 8000, c.now)
	send(t, r, 7, 65535, 0)
	if h, ok := send(t, r, 7, 0, 160); !ok || h.SequenceNumber != 0 {
		t.Fatalf("wrap: %+v %v", h, ok)
	}
	if h, _ := send(t, r, 7, 1, 320); h.SequenceNumber != 1 {
		t.Fatalf("after the wrap: %+v", h)
	}
}

func BenchmarkRewrite(b *testing.B) {
	r := NewRewriter(1, 8000, time.Now)
	h := rtp.Header{Version: 2, SSRC: 7}
	b.ReportAllocs()
	for b.Loop() {
		h.SSRC, h.SequenceNumber, h.Timestamp = 7, h.SequenceNumber+1-r.seqOffset, h.Timestamp+160-r.tsOffset
		r.Rewrite(&h)
	}
}
