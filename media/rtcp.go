package media

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// reception keeps the RFC 3550 reception statistics of one incoming
// stream, for the report blocks of our sender reports: the extended
// highest sequence number (A.1), the cumulative and fractional loss
// (A.3) and the interarrival jitter (A.8). The relay updates it from the
// headers it parses anyway.
type reception struct {
	clock float64 // timestamp units per second

	mu sync.Mutex
	streamStats
}

// streamStats are the counters of one source, reset when it changes.
type streamStats struct {
	ssrc          uint32
	started       bool
	base, maxSeq  uint16
	cycles        uint32
	received      uint32
	expectedPrior uint32
	receivedPrior uint32
	transit       float64
	jitter        float64
}

// packet records the arrival of h at now.
func (r *reception) packet(h *rtp.Header, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started || h.SSRC != r.ssrc { // a new source starts afresh
		r.streamStats = streamStats{ssrc: h.SSRC, started: true, base: h.SequenceNumber, maxSeq: h.SequenceNumber}
	}
	if d := h.SequenceNumber - r.maxSeq; d != 0 && d < 1<<15 {
		if h.SequenceNumber < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = h.SequenceNumber
	}
	r.received++
	arrival := float64(now.UnixNano()) * r.clock / 1e9
	transit := arrival - float64(h.Timestamp)
	if r.received > 1 {
		d := transit - r.transit
		if d < 0 {
			d = -d
		}
		r.jitter += (d - r.jitter) / 16
	}
	r.transit = transit
}

// report returns the report block of the stream, and whether there is
// one; the fraction lost covers the time since the last report.
func (r *reception) report() (rtcp.ReceptionReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return rtcp.ReceptionReport{}, false
	}
	extended := r.cycles + uint32(r.maxSeq)
	expected := extended - uint32(r.base) + 1
	lost := int64(expected) - int64(r.received)
	expectedInterval := expected - r.expectedPrior
	lostInterval := int64(expectedInterval) - int64(r.received-r.receivedPrior)
	r.expectedPrior, r.receivedPrior = expected, r.received
	var fraction uint8
	if expectedInterval > 0 && lostInterval > 0 {
		fraction = uint8(lostInterval << 8 / int64(expectedInterval))
	}
	return rtcp.ReceptionReport{SSRC: r.ssrc, FractionLost: fraction,
		TotalLost: uint32(max(0, min(lost, 1<<23-1))), LastSequenceNumber: extended,
		Jitter: uint32(r.jitter)}, true
}

// senderReport builds our sender report for a stream sent from ssrc,
// with the report block of rx when there is one, and a CNAME.
func senderReport(ssrc uint32, now time.Time, rtpTime, packets, octets uint32, rx *reception) []rtcp.Packet {
	sr := &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntpTime(now), RTPTime: rtpTime, PacketCount: packets, OctetCount: octets}
	if rr, ok := rx.report(); ok {
		sr.Reports = []rtcp.ReceptionReport{rr}
	}
	return []rtcp.Packet{sr, rtcp.NewCNAMESourceDescription(ssrc, "switchboard")}
}

// ntpTime is t in NTP format (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
