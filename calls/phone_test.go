package calls

import (
	"errors"
	"testing"
)

func TestPhonePolicy_Normalize(t *testing.T) {
	p := PhonePolicy{DefaultRegion: "FR", AllowedRegions: []string{"FR", "BE", "GB"}, BlockedTypes: []string{"premium_rate", "shared_cost"}}
	for raw, want := range map[string]struct {
		e164 string
		err  error
	}{
		"06 12 34 56 78":   {"+33612345678", nil},
		"+32 470 12 34 56": {"+32470123456", nil},
		"01 23 45 67 89":   {"+33123456789", nil},
		"08 99 23 45 67":   {"", ErrBlockedPhoneType},  // French premium rate
		"+1 650 253 0000":  {"", ErrCountryNotAllowed}, // US
		"hello":            {"", ErrBadPhone},
		"06 12":            {"", ErrBadPhone},
		"+33 6 12 34 56 78 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9": {"", ErrBadPhone},
	} {
		got, err := p.Normalize(raw)
		if got != want.e164 || !errors.Is(err, want.err) {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", raw, got, err, want.e164, want.err)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	p := PhonePolicy{DefaultRegion: "FR", BlockedTypes: []string{"premium_rate"}}
	for _, s := range []string{"06 12 34 56 78", "+44 20 7946 0958", "0899234567", "+", "tel:+33612345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e164, err := p.Normalize(s); err == nil {
			if again, err := p.Normalize(e164); err != nil || again != e164 {
				t.Errorf("%q → %q does not normalise to itself: %q %v", s, e164, again, err)
			}
		}
	})
}

// The call-back form's hint: a mobile number of the default region as its
// people write it; none without a default region.
func TestPhonePolicy_Example(t *testing.T) {
	for region, want := range map[string]string{"FR": "06 12 34 56 78", "be": "0450 00 12 34", "": ""} {
		if got := (PhonePolicy{DefaultRegion: region}).Example(); got != want {
			t.Errorf("Example(%q) = %q, want %q", region, got, want)
		}
	}
}
