package sip

import (
	"strings"
	"testing"
)

// FuzzSplitList: splitting a header's list (Path, Supported) never
// panics, yields trimmed values that are never empty, and drops nothing
// but separators and blanks: the values' bytes, in order, are all of the
// input's but for commas outside <...> and quotes, and spaces.
func FuzzSplitList(f *testing.F) {
	for _, seed := range []string{
		"<sip:kamailio.example.com;lr>, <sip:edge.example.com;lr>",
		`"a, b" <sip:x@y;lr>,<sip:z;lr>`,
		"path, gruu ,timer",
		`<sip:a,b;lr>`, `"unterminated, <x`, `\`, ",,,", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		squash := func(s string) string { // byte by byte: the input need not be UTF-8
			var b strings.Builder
			for i := range len(s) {
				if c := s[i]; c != ',' && !strings.ContainsRune(lws, rune(c)) {
					b.WriteByte(c)
				}
			}
			return b.String()
		}
		got := splitList(v)
		for _, s := range got {
			if s == "" || s != strings.Trim(s, lws) {
				t.Fatalf("splitList(%q) gives %q: empty or untrimmed", v, s)
			}
		}
		if squash(strings.Join(got, "")) != squash(v) {
			t.Fatalf("splitList(%q) = %q lost or added bytes", v, got)
		}
	})
}
