package acd

import (
	"fmt"
	"slices"
	"time"
)

// schedule is Hours made ready to answer "open at t?".
type schedule struct {
	loc         *time.Location
	days        [7]bool
	open, close time.Duration // since local midnight
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// compile checks h; its errors start with the field name.
func (h *Hours) compile() (*schedule, error) {
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %q: %w", h.TimeZone, err)
	}
	s := &schedule{loc: loc}
	for _, d := range h.Days {
		i := slices.Index(dayNames, d)
		if i < 0 {
			return nil, fmt.Errorf("days: %q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
		s.days[i] = true
	}
	if s.open, err = clock(h.Open); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if s.close, err = clock(h.Close); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	if s.close <= s.open {
		return nil, fmt.Errorf("close: %s is not after open %s", h.Close, h.Open)
	}
	return s, nil
}

func clock(hhmm string) (time.Duration, error) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", hhmm)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// isOpen reports whether the schedule is open at t; a nil schedule always is.
func (s *schedule) isOpen(t time.Time) bool {
	if s == nil {
		return true
	}
	local := t.In(s.loc)
	if !s.days[local.Weekday()] {
		return false
	}
	y, m, d := local.Date()
	since := local.Sub(time.Date(y, m, d, 0, 0, 0, 0, s.loc))
	return since >= s.open && since < s.close
}

// nextOpen is the next opening at or after t; t itself for a nil schedule
// or one open at t.
func (s *schedule) nextOpen(t time.Time) time.Time {
	if s.isOpen(t) {
		return t
	}
	local := t.In(s.loc)
	y, m, d := local.Date()
	for i := range 8 {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, s.loc)
		if open := day.Add(s.open); s.days[day.Weekday()] && open.After(t) {
			return open
		}
	}
	return t // no open day: the schedule's validation forbids it
}
