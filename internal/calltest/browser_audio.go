package calltest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pion/webrtc/v4"
)

// DTMF timing of a Browser, in 20 ms packets.
const (
	dtmfEventPackets = 5 // 100 ms of tone per digit
	dtmfEndPackets   = 3 // the end packet, sent three times
	dtmfGapPackets   = 3 // 60 ms of audio between digits
)

// hearWindow is the span of received audio Heard looks at.
const hearWindow = 200 * time.Millisecond

// dtmfJob is one SendDTMF call for the sending goroutine.
type dtmfJob struct {
	events []uint8
	done   chan struct{}
}

// Start starts the audio (already done once connected unless Manual).
// Packets go out once the connection is up.
func (b *Browser) Start() { b.startOnce.Do(func() { close(b.start) }) }

// SetTone changes the frequency of the tone sent; 0 sends silence.
func (b *Browser) SetTone(hz float64) { b.toneHz.Store(math.Float64bits(hz)) }

// Mute stops (true) or resumes (false) sending audio packets: no RTP at
// all, unlike SetTone(0).
func (b *Browser) Mute(mute bool) { b.muted.Store(mute) }

// sendLoop sends one packet every 20 ms once started and connected: the
// tone, or the packets of a DTMF digit.
func (b *Browser) sendLoop() {
	for _, ch := range []chan struct{}{b.start, b.connected} {
		select {
		case <-ch:
		case <-b.closing:
			return
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	s := &sendState{
		seq:  uint16(time.Now().UnixNano()),
		ts:   uint32(time.Now().UnixNano() >> 10),
		tone: Tone{Level: b.opts.ToneDBFS},
	}
	if b.opts.ProbeEvery > 0 {
		s.probeEvery = max(1, int(b.opts.ProbeEvery/(20*time.Millisecond)))
	}
	for {
		select {
		case <-b.closing:
			if s.job != nil {
				close(s.job.done)
			}
			return
		case <-tick.C:
		}
		if bind := b.track.bound(); bind != nil {
			b.sendTick(bind, s)
		}
		s.ts += samplesPerPacket
	}
}

// sendState is the sending goroutine's.
type sendState struct {
	seq        uint16
	ts         uint32
	tone       Tone
	samples    [samplesPerPacket]int16
	payload    []byte
	ticks      int
	probeEvery int
	probeID    uint64

	job     *dtmfJob
	digit   int    // index in job.events
	step    int    // packet of the digit: event, end, then gap
	eventTS uint32 // timestamp of the digit's packets
}

func (b *Browser) sendTick(bind *trackBinding, s *sendState) {
	if s.job == nil {
		select {
		case s.job = <-b.dtmfReq:
			s.digit, s.step = 0, 0
		default:
		}
	}
	if s.job != nil {
		if s.step < dtmfEventPackets+dtmfEndPackets {
			if s.step == 0 {
				s.eventTS = s.ts
			}
			ev := TelephoneEvent{
				Event:    s.job.events[s.digit],
				End:      s.step >= dtmfEventPackets,
				Volume:   10,
				Duration: uint16(min(s.step+1, dtmfEventPackets) * samplesPerPacket),
			}
			if bind.write(bind.tePT, s.seq, s.eventTS, s.step == 0, ev.Marshal()) == nil {
				b.packetsOut.Add(1)
			}
			s.seq++
			s.step++
			return
		}
		s.step++
		if s.step == dtmfEventPackets+dtmfEndPackets+dtmfGapPackets {
			s.digit, s.step = s.digit+1, 0
			if s.digit == len(s.job.events) {
				close(s.job.done)
				s.job = nil
			}
		}
	}
	if b.muted.Load() {
		return
	}
	s.ticks++
	s.tone.Freq = math.Float64frombits(b.toneHz.Load())
	s.tone.Next(s.samples[:])
	s.payload = bind.law.encode(s.payload[:0], s.samples[:])
	if s.probeEvery > 0 && s.ticks%s.probeEvery == 0 {
		s.probeID++
		s.payload = probePayload(s.payload[:0], bind.law, s.probeID)
		b.mu.Lock()
		if len(b.probes) > 1000 {
			clear(b.probes)
		}
		b.probes[s.probeID] = time.Now()
		b.mu.Unlock()
	}
	if bind.write(bind.audioPT, s.seq, s.ts, false, s.payload) == nil {
		b.packetsOut.Add(1)
	}
	s.seq++
}

// probeMagic starts the payload of a probe packet.
var probeMagic = []byte("calltest")

// probePayload is a packet of silence carrying the magic and id.
func probePayload(dst []byte, l law, id uint64) []byte {
	dst = append(dst, probeMagic...)
	dst = binary.BigEndian.AppendUint64(dst, id)
	for len(dst) < samplesPerPacket {
		dst = append(dst, l.silence())
	}
	return dst
}

// SendDTMF sends the digits (0-9, *, #, A-D) as RFC 4733 events, one after
// the other, and returns once they are sent: per digit 5 packets (100 ms)
// with the marker on the first, then 3 end packets, all with the digit's
// timestamp, then 60 ms of audio. Audio pauses during the events; sequence
// numbers go on.
func (b *Browser) SendDTMF(digits string) error {
	if err := checkDigits(digits); err != nil {
		return err
	}
	for _, ch := range []chan struct{}{b.connected, b.start} {
		select {
		case <-ch:
		default:
			return errors.New("calltest: SendDTMF before the connection is up and the audio started")
		}
	}
	bind := b.track.bound()
	if bind == nil || !bind.hasTE {
		return errors.New("calltest: telephone-event not negotiated")
	}
	job := &dtmfJob{done: make(chan struct{})}
	for _, d := range digits {
		ev, _ := DTMFEvent(d)
		job.events = append(job.events, ev)
	}
	select {
	case b.dtmfReq <- job:
	case <-b.closing:
		return ErrClosed
	}
	select {
	case <-job.done:
	case <-b.closing:
		return ErrClosed
	}
	select {
	case <-b.closing:
		return ErrClosed
	default:
		return nil
	}
}

// readTrack decodes the audio received into the ring of the last second.
func (b *Browser) readTrack(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		b.packetsIn.Add(1)
		b.lastIn.Store(now.UnixNano())
		b.mu.Lock()
		if l, ok := b.pts[pkt.PayloadType]; ok {
			if bytes.HasPrefix(pkt.Payload, probeMagic) && len(pkt.Payload) >= len(probeMagic)+8 {
				id := binary.BigEndian.Uint64(pkt.Payload[len(probeMagic):])
				if sent, ok := b.probes[id]; ok {
					delete(b.probes, id)
					if len(b.rtts) == 10000 {
						b.rtts = b.rtts[:copy(b.rtts, b.rtts[1:])]
					}
					b.rtts = append(b.rtts, now.Sub(sent))
				}
			}
			b.heard.addG711(l, pkt.Payload, now)
		}
		b.mu.Unlock()
	}
}

// recent returns the last d of audio received, nothing when no packet came
// within d.
func (b *Browser) recent(d time.Duration) []int16 { return b.heard.recent(d) }

// Heard returns the share of the energy at freq in the last 200 ms of audio
// received (Goertzel): about 1 when that tone is all there is, 0 when
// nothing was received in the last 200 ms.
func (b *Browser) Heard(freq float64) float64 {
	return Goertzel(b.recent(hearWindow), SampleRate, freq)
}

// Level returns the level of the last 200 ms of audio received, in dBFS
// (-inf when nothing was received in the last 200 ms).
func (b *Browser) Level() float64 { return LevelDBFS(b.recent(hearWindow)) }

// HearsTone tells whether the last 200 ms received are mostly freq (over
// half the energy) and loud enough (over -40 dBFS).
func (b *Browser) HearsTone(freq float64) bool {
	s := b.recent(hearWindow)
	return len(s) >= samplesPerPacket && LevelDBFS(s) > -40 && Goertzel(s, SampleRate, freq) > 0.5
}

// WaitTone waits until HearsTone(freq), polling every 10 ms.
func (b *Browser) WaitTone(ctx context.Context, freq float64) error {
	return poll(ctx, func() bool { return b.HearsTone(freq) }, func() string {
		return fmt.Sprintf("tone %g Hz not heard (share %.2f, level %.1f dBFS, %d packets in)",
			freq, b.Heard(freq), b.Level(), b.PacketsReceived())
	})
}

// PacketsReceived counts the RTP packets received.
func (b *Browser) PacketsReceived() uint64 { return b.packetsIn.Load() }

// PacketsSent counts the RTP packets sent (audio and DTMF).
func (b *Browser) PacketsSent() uint64 { return b.packetsOut.Load() }

// LastReceived is when the last RTP packet arrived (zero before any).
func (b *Browser) LastReceived() time.Time {
	if ns := b.lastIn.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// EchoRTTs returns the round-trip times of the probes whose echo came back
// (ProbeEvery), oldest first, at most the last 10000.
func (b *Browser) EchoRTTs() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.rtts...)
}
