package netlist

import (
	"net/netip"
	"testing"
)

func TestParseAndContains(t *testing.T) {
	list, err := Parse([]string{"192.0.2.7", "10.0.0.0/8", "::1", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"192.0.2.7": true, "192.0.2.8": false, "10.1.2.3": true,
		"::1": true, "2001:db8::5": true, "::ffff:192.0.2.7": true, "203.0.113.1": false,
	} {
		if got := Contains(list, netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%q) = %v, want %v", addr, got, want)
		}
	}
	if Contains(list, netip.Addr{}) {
		t.Error("the zero Addr is in the list")
	}
	if _, err := Parse([]string{"10.0.0.0/8", "proxy.example.com"}); err == nil || err.Error() != `[1]: "proxy.example.com" is neither an IP address nor a CIDR prefix` {
		t.Errorf("bad entry: %v", err)
	}
}
