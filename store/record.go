package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// Presence records, the many ones, are written in a compact binary form
// that start-up reads without reflection: a format byte (recordBinary),
// then each field in a fixed order, strings and byte strings as a uvarint
// length and the bytes, integers as uvarints, times as a uvarint flag (0:
// the zero time) and varint Unix nanoseconds. A record that begins with
// '{' is the JSON of an earlier release, still read.
const recordBinary byte = 2

var errShortRecord = errors.New("record ends early")

// recordWriter appends fields.
type recordWriter struct{ b []byte }

func newRecordWriter(size int) *recordWriter {
	return &recordWriter{b: append(make([]byte, 0, size+32), recordBinary)}
}

func (w *recordWriter) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *recordWriter) bytes(p []byte) {
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *recordWriter) uint(u uint64) { w.b = binary.AppendUvarint(w.b, u) }

func (w *recordWriter) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	w.b = binary.AppendVarint(append(w.b, 1), t.UnixNano())
}

// recordReader reads fields back, copying them out of the database's
// memory; after the first error every read returns a zero value, and err
// says what went wrong.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail() {
	if r.err == nil {
		r.err = errShortRecord
	}
	r.b = nil
}

func (r *recordReader) uint() uint64 {
	u, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return u
}

// field returns the next length-prefixed field, still in the database's
// memory.
func (r *recordReader) field() []byte {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *recordReader) str() string { return string(r.field()) }

// bytes returns a copy of the next byte string; nil when empty.
func (r *recordReader) bytes() []byte {
	p := r.field()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (r *recordReader) time() time.Time {
	if r.uint() == 0 || r.err != nil {
		return time.Time{}
	}
	ns, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return time.Time{}
	}
	r.b = r.b[n:]
	return time.Unix(0, ns)
}

// done reports the first error, or bytes left over.
func (r *recordReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("record has bytes past its last field")
	}
	return r.err
}
