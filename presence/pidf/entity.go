package pidf

import "strings"

// SameEntity reports whether a PIDF entity ("pres:alice@example.com" or
// "sip:alice@example.com", RFC 3863 §4.1.1 / RFC 3856 §6) names the SIP
// presentity URI ("sip:alice@example.com").
//
// Both sides may use the pres:, sip: or sips: scheme (case-insensitive).
// The user part is compared case-sensitively after decoding %HH escapes
// (RFC 3261 §19.1.4), the host (with any port) case-insensitively, and URI
// parameters and headers are ignored. Anything else, including an empty
// host, does not match.
func SameEntity(entity, presentity string) bool {
	eu, eh, ok := splitEntity(entity)
	if !ok {
		return false
	}
	pu, ph, ok := splitEntity(presentity)
	return ok && eu == pu && strings.EqualFold(eh, ph)
}

// splitEntity splits a pres:, sip: or sips: URI into its decoded user part
// and its host[:port].
func splitEntity(uri string) (user, host string, ok bool) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(uri), ":")
	if !ok {
		return "", "", false
	}
	switch strings.ToLower(scheme) {
	case "pres", "sip", "sips": // RFC 3859 §3, RFC 3261 §19.1.1
	default:
		return "", "", false
	}
	// The user part may itself contain ';' and '?' (RFC 3261 §25.1
	// user-unreserved) but never a bare '@', so split there first.
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i] // URI parameters and headers
	}
	if rest == "" {
		return "", "", false
	}
	return unescape(user), rest, true
}

// unescape decodes %HH escapes; a malformed escape leaves s unchanged.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return s
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return s
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
