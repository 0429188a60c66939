package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestReception_LossJitterAndWrap(t *testing.T) {
	r := reception{clock: 8000}
	start := time.Unix(1000, 0)
	seq := uint16(65530)
	for i := range 20 {
		if i == 7 || i == 8 { // two packets lost, across the wrap
			seq++
			continue
		}
		r.packet(&rtp.Header{SSRC: 9, SequenceNumber: seq, Timestamp: uint32(i) * 160}, start.Add(time.Duration(i)*20*time.Millisecond))
		seq++
	}
	rr, ok := r.report()
	if !ok {
		t.Fatal("no report")
	}
	if rr.SSRC != 9 || rr.TotalLost != 2 || rr.LastSequenceNumber != 1<<16+uint32(seq-1) || rr.Jitter != 0 {
		t.Errorf("report %+v", rr)
	}
	if rr.FractionLost != 2*256/20 {
		t.Errorf("fraction lost %d, want %d", rr.FractionLost, 2*256/20)
	}
	if rr, _ := r.report(); rr.FractionLost != 0 { // nothing new since
		t.Errorf("fraction lost with no new packet: %d", rr.FractionLost)
	}
	r.packet(&rtp.Header{SSRC: 10, SequenceNumber: 5}, start) // a new source starts afresh
	if rr, _ := r.report(); rr.SSRC != 10 || rr.TotalLost != 0 {
		t.Errorf("after a new source: %+v", rr)
	}
}
