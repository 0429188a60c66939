// Package netlist reads configured lists of addresses, such as the
// trusted proxies of the SIP and HTTP listeners.
package netlist

import (
	"fmt"
	"net/netip"
)

// Parse reads IP addresses ("192.0.2.7", a single host) and CIDR prefixes
// ("10.0.0.0/8"); the error names the first entry that is neither.
func Parse(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		if ip, err := netip.ParseAddr(s); err == nil {
			ip = ip.Unmap()
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %q is neither an IP address nor a CIDR prefix", i, s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Contains reports whether ip is in one of list.
func Contains(list []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
