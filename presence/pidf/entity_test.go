package pidf

import "testing"

func TestSameEntity(t *testing.T) {
	tests := []struct {
		entity, presentity string
		want               bool
	}{
		{"sip:alice@example.com", "sip:alice@example.com", true},
		{"pres:alice@example.com", "sip:alice@example.com", true},
		{"sips:alice@example.com", "sip:alice@example.com", true},
		{"PRES:alice@Example.COM", "sip:alice@example.com", true},
		{"sip:alice@example.com;transport=tcp", "sip:alice@example.com", true},
		{"sip:alice@example.com?subject=hi", "sip:alice@example.com;user=phone", true},
		{" sip:alice@example.com ", "sip:alice@example.com", true},
		{"sip:%61lice@example.com", "sip:alice@example.com", true},
		{"sip:+1555;phone-context=x@example.com", "sip:+1555;phone-context=x@example.com", true},
		{"sip:Alice@example.com", "sip:alice@example.com", false},
		{"sip:bob@example.com", "sip:alice@example.com", false},
		{"sip:alice@example.org", "sip:alice@example.com", false},
		{"sip:alice@example.com:5070", "sip:alice@example.com", false},
		{"tel:+15551234", "tel:+15551234", false},
		{"mailto:alice@example.com", "sip:alice@example.com", false},
		{"alice@example.com", "sip:alice@example.com", false},
		{"sip:alice@", "sip:alice@", false},
		{"", "", false},
		{"sip:alice@example.com", "", false},
		{"sip:%zz@example.com", "sip:%zz@example.com", true},
		{"sip:%4@example.com", "sip:%4@example.com", true},
	}
	for _, tc := range tests {
		if got := SameEntity(tc.entity, tc.presentity); got != tc.want {
			t.Errorf("SameEntity(%q, %q) = %v, want %v", tc.entity, tc.presentity, got, tc.want)
		}
	}
}
