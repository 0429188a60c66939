package media

import (
	"time"

	"github.com/pion/rtp"
)

// Rewriter turns the RTP packets one leg sends into the single stream the
// other leg receives: our SSRC, and sequence numbers and timestamps that
// never go backwards, even when the source changes underneath (a new SSRC
// after hold and resume, a phone that restarts its numbering). SRTP toward
// a browser drops a packet whose index looks older than its replay window
// as a replay (RFC 3711 §3.3.2), so a jump back would silence the call.
//
// Within one source, numbers map by a fixed offset, so reordering and loss
// pass through as they are (RFC 3550 §5.1). A packet more than maxLate
// behind the newest is dropped: SRTP would refuse it anyway.
type Rewriter struct {
	ssrc      uint32
	clockRate uint32
	now       func() time.Time

	started   bool
	inSSRC    uint32
	inSeq     uint16 // newest input sequence number of the current source
	seqOffset uint16
	tsOffset  uint32
	outSeq    uint16 // newest output sequence number
	outTS     uint32 // newest output timestamp
	at        time.Time
}

// maxLate is how far behind the newest packet a packet may arrive.
const maxLate = 64

// jump is a sequence step that means a new source even with the same SSRC.
const jump = 3000

// NewRewriter returns a Rewriter that stamps ssrc on every packet and
// spaces timestamps by clockRate (8000 for G.711) across a change of
// source. now is the clock (time.Now outside tests).
func NewRewriter(ssrc, clockRate uint32, now func() time.Time) *Rewriter {
	return &Rewriter{ssrc: ssrc, clockRate: clockRate, now: now}
}

// Rewrite rewrites h in place and reports whether to send the packet.
func (r *Rewriter) Rewrite(h *rtp.Header) bool {
	now := r.now()
	switch {
	case !r.started:
		r.started = true
		r.follow(h, h.SequenceNumber, h.Timestamp)
	case h.SSRC != r.inSSRC || seqDistance(r.inSeq, h.SequenceNumber) > jump || seqDistance(r.inSeq, h.SequenceNumber) < -jump:
		// A new source: carry on one packet later, and as much later in
		// time as has passed, at least one sample.
		elapsed := uint32(now.Sub(r.at).Seconds() * float64(r.clockRate))
		r.follow(h, r.outSeq+1, r.outTS+max(elapsed, 1))
	}
	d := seqDistance(r.inSeq, h.SequenceNumber)
	if d < -maxLate {
		return false
	}
	h.SSRC = r.ssrc
	h.SequenceNumber += r.seqOffset
	h.Timestamp += r.tsOffset
	if d > 0 {
		r.inSeq, r.outSeq, r.outTS, r.at = h.SequenceNumber-r.seqOffset, h.SequenceNumber, h.Timestamp, now
	}
	return true
}

// follow makes h's source the current one, mapped so that its packet h
// goes out as seq and ts.
func (r *Rewriter) follow(h *rtp.Header, seq uint16, ts uint32) {
	r.inSSRC = h.SSRC
	r.inSeq = h.SequenceNumber - 1 // so that h itself counts as newest
	r.seqOffset = seq - h.SequenceNumber
	r.tsOffset = ts - h.Timestamp
}

// seqDistance is how far b is ahead of a (negative: behind), with 16-bit
// wraparound.
func seqDistance(a, b uint16) int {
	return int(int16(b - a))
}
