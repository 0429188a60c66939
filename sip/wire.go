package sip

import (
	"bytes"
	"hash/fnv"
	"strconv"
	"strings"
)

// A verdict is what reading one message off the wire decided: pass it on
// (code 0), answer it with code and reason, or drop it without an answer
// (code -1: a response nobody can match, or nothing to route an answer by).
type verdict struct {
	code   int
	reason string
}

var passed, dropped = verdict{}, verdict{code: -1}

func refusal(code int, reason string) verdict { return verdict{code: code, reason: reason} }

// A headerKind is what inspect knows of a header, from its long or
// compact name.
type headerKind uint8

const (
	hOther headerKind = iota
	hVia
	hFrom
	hTo
	hCallID
	hCSeq
	hMaxForwards
	hContentLength
	hContentType
	hExpires
	hContact
	hRoute
	hRecordRoute
	hReplyTo
	kinds
)

// headerNames spell each kind as RFC 3261 does.
var headerNames = [kinds]string{"", "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length",
	"Content-Type", "Expires", "Contact", "Route", "Record-Route", "Reply-To"}

// kindOf reads a header name, without allocating.
func kindOf(name []byte) headerKind {
	if len(name) > 16 {
		return hOther
	}
	var buf [16]byte
	lower := buf[:len(name)]
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower) {
	case "via", "v":
		return hVia
	case "from", "f":
		return hFrom
	case "to", "t":
		return hTo
	case "call-id", "i":
		return hCallID
	case "cseq":
		return hCSeq
	case "max-forwards":
		return hMaxForwards
	case "content-length", "l":
		return hContentLength
	case "content-type", "c":
		return hContentType
	case "expires":
		return hExpires
	case "contact", "m":
		return hContact
	case "route":
		return hRoute
	case "record-route":
		return hRecordRoute
	case "reply-to":
		return hReplyTo
	}
	return hOther
}

// single reports whether RFC 3261 §7.3.1 allows the header once only.
func (k headerKind) single() bool {
	return k >= hFrom && k <= hExpires
}

// address reports whether the header holds name-addr or addr-spec values
// (RFC 3261 §20.10).
func (k headerKind) address() bool {
	return k == hFrom || k == hTo || k >= hContact
}

// required are the headers without which a request cannot be answered
// sensibly (RFC 3261 §8.1.1); Max-Forwards is left out for RFC 2543 peers.
var required = []headerKind{hVia, hFrom, hTo, hCallID, hCSeq}

// inspect reads one whole message (a datagram, or a message a stream framer
// cut) the way RFC 3261 §7 and §25 and the torture tests of RFC 4475 ask:
// it refuses what sipgo's parser would drop without an answer or accept
// although it is malformed, and returns the message as sipgo can read it:
// folded header lines joined, the space around header names' colons gone,
// octets past Content-Length cut (RFC 3261 §18.3), a branch given to an
// RFC 2543 request. The result is data itself or a part of it unless it
// had to be laid out again.
func inspect(data []byte) ([]byte, verdict) {
	data = bytes.TrimLeft(data, "\r\n")
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		if len(data) == 0 || bytes.HasPrefix(data, []byte("SIP/")) {
			return nil, dropped
		}
		return nil, refusal(400, "Missing blank line after headers")
	}
	head := data[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if bytes.HasPrefix(line, []byte("SIP/")) {
		// A response nobody can read is dropped: there is no one to tell.
		if msg, v := inspectFields(data, end, line, rest, false); v == passed && validStatusLine(line) {
			return msg, passed
		}
		return nil, dropped
	}
	if v := checkRequestLine(line); v != passed {
		return nil, v
	}
	return inspectFields(data, end, line, rest, true)
}

// inspectFields checks the header fields and Content-Length of the message
// whose head ends at end, start line apart.
func inspectFields(data []byte, end int, line, rest []byte, request bool) ([]byte, verdict) {
	body := data[end+4:]
	fields, folded := unfold(rest)
	var seen [kinds]int
	contentLength, branchless := -1, false
	for _, f := range fields {
		name, value, ok := splitField(f)
		if !ok {
			return nil, refusal(400, "Malformed header line")
		}
		kind := kindOf(name)
		if seen[kind]++; kind.single() && seen[kind] > 1 {
			return nil, refusal(400, "Multiple "+headerNames[kind]+" headers")
		}
		if kind != hCallID && !balancedQuotes(value) { // a Call-ID's word may hold '"'
			return nil, refusal(400, "Unterminated quoted string in "+string(name))
		}
		if v := checkValue(kind, value); v != passed {
			return nil, v
		}
		switch {
		case kind == hContentLength:
			n, _ := decimal(value, 1<<31-1)
			contentLength = int(n)
		case kind == hVia && seen[hVia] == 1 && request:
			branchless = !hasRFC3261Branch(value)
		}
	}
	if request {
		for _, k := range required {
			if seen[k] == 0 {
				return nil, refusal(400, "Missing "+headerNames[k]+" header")
			}
		}
	}
	switch {
	case contentLength > len(body):
		return nil, refusal(400, "Content-Length larger than the message")
	case contentLength >= 0:
		body = body[:contentLength]
	}
	if !folded && !branchless {
		return data[:end+4+len(body)], passed
	}
	return rewrite(line, fields, body, branchless), passed
}

// rewrite lays the message out again, each header on one line as
// "Name: value". A request without an RFC 3261 branch (RFC 2543 style, RFC
// 4475 §3.4.1 and §3.2.1) gets one in its top Via, in place of the one it has, made of what RFC 3261
// §17.2.3 matches such requests by, as sipgo's transactions need it: a
// retransmission gets the same branch, and its ACK too.
func rewrite(line []byte, fields [][]byte, body []byte, branchless bool) []byte {
	out := make([]byte, 0, len(line)+len(body)+64*len(fields)+64)
	out = append(append(out, line...), "\r\n"...)
	top := true
	for _, f := range fields {
		name, raw, _ := splitField(f)
		value := string(raw)
		if branchless && top && kindOf(name) == hVia {
			first, others, more := strings.Cut(value, ",")
			kept := []string{}
			eachPart(first, ';', func(p string) bool {
				if k, _, _ := strings.Cut(p, "="); !strings.EqualFold(strings.TrimSpace(k), "branch") {
					kept = append(kept, strings.TrimSpace(p))
				}
				return true
			})
			first = strings.Join(kept, ";") + ";branch=" + rfc2543Branch(line, fields)
			if more {
				first += "," + others
			}
			value, top = first, false
		}
		out = append(append(append(append(out, name...), ": "...), value...), "\r\n"...)
	}
	out = append(out, "\r\n"...)
	return append(out, body...)
}

// hasRFC3261Branch reports whether the top Via value has a branch made
// of the magic cookie and more (RFC 3261 §8.1.1.7).
func hasRFC3261Branch(via []byte) bool {
	first, _, _ := bytes.Cut(via, []byte(","))
	v := viaParam(first, "branch")
	return bytes.HasPrefix(v, []byte("z9hG4bK")) && len(v) > len("z9hG4bK")
}

// viaParam returns the value of a parameter of one Via value, by
// case-insensitive name, nil when absent.
func viaParam(via []byte, name string) []byte {
	for {
		i := bytes.IndexByte(via, ';')
		if i < 0 {
			return nil
		}
		via = via[i+1:]
		p := via
		if j := bytes.IndexByte(p, ';'); j >= 0 {
			p = p[:j]
		}
		k, v, _ := bytes.Cut(p, []byte("="))
		if bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return bytes.TrimSpace(v)
		}
	}
}

// fnv1a adds b to the FNV-1a (64-bit) hash h; start from fnvOffset.
func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

const fnvOffset = 14695981039346656037

// rfc2543Branch hashes the Request-URI, From, Call-ID, CSeq number and top
// Via: the same for a request, its retransmissions and, the method aside,
// its ACK (RFC 3261 §17.2.3).
func rfc2543Branch(line []byte, fields [][]byte) string {
	h := fnv.New64a()
	parts := bytes.Split(line, []byte(" "))
	h.Write(parts[1])
	seenVia := false
	for _, f := range fields {
		name, value, _ := splitField(f)
		switch kindOf(name) {
		case hVia:
			if seenVia {
				continue
			}
			seenVia = true
		case hCSeq:
			value, _, _ = bytes.Cut(value, []byte(" "))
		case hFrom, hCallID:
		default:
			continue
		}
		h.Write([]byte{0})
		h.Write(value)
	}
	return "z9hG4bK-rfc2543-" + strconv.FormatUint(h.Sum64(), 36)
}

// unfold returns the header fields, with continuation lines joined by one
// space (RFC 3261 §7.3.1), and whether the layout must be rewritten for
// sipgo: a line was folded or a name has white space before its colon.
// The fields of an unfolded head share its memory.
func unfold(rest []byte) ([][]byte, bool) {
	fields := make([][]byte, 0, bytes.Count(rest, []byte("\r\n"))+1)
	rewritten := false
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(fields) > 0 {
			last := fields[len(fields)-1]
			joined := make([]byte, 0, len(last)+1+len(l))
			joined = append(append(append(joined, last...), ' '), bytes.TrimLeft(l, " \t")...)
			fields[len(fields)-1] = joined
			rewritten = true
			continue
		}
		if i := bytes.IndexByte(l, ':'); i > 0 && (l[i-1] == ' ' || l[i-1] == '\t') {
			rewritten = true
		}
		fields = append(fields, l)
	}
	return fields, rewritten
}

// splitField returns a header line's name and value, both trimmed.
func splitField(f []byte) ([]byte, []byte, bool) {
	name, value, ok := bytes.Cut(f, []byte(":"))
	name = bytes.TrimRight(name, " \t")
	if !ok || !isToken(name) {
		return nil, nil, false
	}
	return name, bytes.Trim(value, " \t"), true
}

// checkRequestLine applies RFC 3261 §7.1: Method SP Request-URI SP
// SIP-Version, single spaces, a URI without white space or brackets.
func checkRequestLine(line []byte) verdict {
	method, rest, _ := bytes.Cut(line, []byte(" "))
	uri, version, ok := bytes.Cut(rest, []byte(" "))
	if !ok || !isToken(method) || len(uri) == 0 || bytes.ContainsAny(uri, "\t<>\"") || bytes.ContainsAny(version, " \t") {
		return refusal(400, "Malformed Request-Line")
	}
	if string(version) != "SIP/2.0" {
		if bytes.HasPrefix(version, []byte("SIP/")) {
			return refusal(505, "Version Not Supported")
		}
		return refusal(400, "Malformed Request-Line")
	}
	scheme, after, _ := bytes.Cut(uri, []byte(":"))
	if !bytes.EqualFold(scheme, []byte("sip")) && !bytes.EqualFold(scheme, []byte("sips")) {
		return refusal(416, "Unsupported URI Scheme")
	}
	// Headers follow the host part; the user part may hold a '?' itself.
	if bytes.IndexByte(after[bytes.LastIndexByte(after, '@')+1:], '?') >= 0 {
		return refusal(400, "Headers in Request-URI")
	}
	return passed
}

// validStatusLine applies RFC 3261 §7.2: SIP-Version SP 3DIGIT SP phrase.
func validStatusLine(line []byte) bool {
	version, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(rest, []byte(" "))
	n, ok := decimal(code, 699)
	return string(version) == "SIP/2.0" && len(code) == 3 && ok && n >= 100
}

// checkValue checks the values sipgo reads too leniently or not at all.
func checkValue(kind headerKind, value []byte) verdict {
	switch kind {
	case hContentLength:
		if _, ok := decimal(value, 1<<31-1); !ok {
			return refusal(400, "Malformed Content-Length")
		}
	case hMaxForwards:
		if _, ok := decimal(value, 255); !ok {
			return refusal(400, "Malformed Max-Forwards")
		}
	case hExpires:
		if _, ok := decimal(value, 1<<32-1); !ok {
			return refusal(400, "Malformed Expires")
		}
	case hCSeq:
		num, method, _ := bytes.Cut(value, []byte(" "))
		if _, ok := decimal(num, 1<<31-1); !ok || !isToken(bytes.TrimSpace(method)) {
			return refusal(400, "Malformed CSeq")
		}
	case hVia:
		if !validVia(string(value)) {
			return refusal(400, "Malformed Via")
		}
	}
	if kind.address() && !validAddresses(kind, string(value)) {
		return refusal(400, "Malformed "+headerNames[kind])
	}
	return passed
}

// decimal reads 1*DIGIT no larger than max.
func decimal[T string | []byte](s T, max uint64) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (max-uint64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// validVia checks each via-parm of a Via value: "SIP / 2.0 / transport"
// then a sent-by, and no empty parameter (RFC 3261 §20.42).
func validVia(value string) bool {
	return eachPart(value, ',', func(parm string) bool {
		proto, params, hasParams := strings.Cut(parm, ";")
		name, rest, _ := strings.Cut(proto, "/")
		version, rest, ok := strings.Cut(rest, "/")
		transport, sentBy, _ := strings.Cut(strings.TrimLeft(rest, " \t"), " ")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "SIP") || strings.TrimSpace(version) == "" ||
			!isToken(transport) || strings.TrimSpace(sentBy) == "" {
			return false
		}
		return !hasParams || eachPart(params, ';', func(p string) bool { return strings.TrimSpace(p) != "" })
	})
}

// validAddresses checks name-addr and addr-spec values (RFC 3261 §20.10,
// §25.1): a display name is a quoted string or tokens, nothing but the
// URI between the angle brackets, and a URI outside them carries no
// headers. From and To hold one address; the others may list several.
func validAddresses(kind headerKind, value string) bool {
	if kind == hFrom || kind == hTo {
		return validAddress(value, false)
	}
	return eachPart(value, ',', func(v string) bool { return validAddress(v, kind == hContact) })
}

// validAddress checks one address; star is whether "*" is one.
func validAddress(v string, star bool) bool {
	v = strings.TrimSpace(v)
	if v == "*" && star {
		return true
	}
	lt := indexOutsideQuotes(v, '<')
	if lt < 0 {
		uri, _, _ := strings.Cut(v, ";")
		return !strings.ContainsAny(v, "?,\"") && !strings.ContainsAny(strings.TrimSpace(uri), " \t")
	}
	gt := strings.IndexByte(v[lt:], '>')
	if gt < 0 {
		return false
	}
	if uri := v[lt+1 : lt+gt]; uri == "" || strings.ContainsAny(uri, " \t") {
		return false
	}
	display := strings.TrimSpace(v[:lt])
	if display == "" || display[0] == '"' {
		return true
	}
	for _, word := range strings.Fields(display) {
		if !isToken(word) {
			return false
		}
	}
	return true
}

// balancedQuotes reports whether every quoted string in s ends.
func balancedQuotes(s []byte) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case in && s[i] == '\\':
			i++
		case s[i] == '"':
			in = !in
		}
	}
	return !in
}

// eachPart calls fn with each part of s between the seps that are not
// inside a quoted string or angle brackets, while fn returns true.
func eachPart(s string, sep byte, fn func(string) bool) bool {
	in, depth, start := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && c == '<':
			depth++
		case !in && c == '>' && depth > 0:
			depth--
		case !in && depth == 0 && c == sep:
			if !fn(s[start:i]) {
				return false
			}
			start = i + 1
		}
	}
	return fn(s[start:])
}

// indexOutsideQuotes is the index of the first c outside quoted strings.
func indexOutsideQuotes(s string, c byte) int {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case in && s[i] == '\\':
			i++
		case s[i] == '"':
			in = !in
		case !in && s[i] == c:
			return i
		}
	}
	return -1
}

// isToken reports whether s is an RFC 3261 §25.1 token.
func isToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}
