package calltest

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// dtmfDigits lists the digits by RFC 4733 event code (0-15).
const dtmfDigits = "0123456789*#ABCD"

// DTMFEvent returns the RFC 4733 event code of a digit (0-9, *, #, A-D).
func DTMFEvent(digit rune) (uint8, bool) {
	i := strings.IndexRune(dtmfDigits, digit)
	if i < 0 && 'a' <= digit && digit <= 'd' {
		i = strings.IndexRune(dtmfDigits, digit-'a'+'A')
	}
	if i < 0 {
		return 0, false
	}
	return uint8(i), true
}

// DTMFDigit returns the digit of an RFC 4733 event code, false for codes
// that are not digits (flash and others).
func DTMFDigit(event uint8) (rune, bool) {
	if int(event) >= len(dtmfDigits) {
		return 0, false
	}
	return rune(dtmfDigits[event]), true
}

// TelephoneEvent is the payload of an RFC 4733 packet.
type TelephoneEvent struct {
	Event    uint8
	End      bool
	Volume   uint8  // -dBm0, 0-63
	Duration uint16 // in timestamp units (1/8000 s)
}

// Marshal encodes the payload.
func (e TelephoneEvent) Marshal() []byte {
	b := make([]byte, 4)
	b[0] = e.Event
	b[1] = e.Volume & 0x3f
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], e.Duration)
	return b
}

// ParseTelephoneEvent decodes an RFC 4733 payload.
func ParseTelephoneEvent(p []byte) (TelephoneEvent, error) {
	if len(p) < 4 {
		return TelephoneEvent{}, fmt.Errorf("telephone-event payload of %d bytes", len(p))
	}
	return TelephoneEvent{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(p[2:]),
	}, nil
}

// checkDigits reports the first character of digits that is no DTMF digit.
func checkDigits(digits string) error {
	if digits == "" {
		return fmt.Errorf("no digits")
	}
	for _, d := range digits {
		if _, ok := DTMFEvent(d); !ok {
			return fmt.Errorf("%q is no DTMF digit", d)
		}
	}
	return nil
}
