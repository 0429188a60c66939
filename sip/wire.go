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

// singleHeaders are the headers RFC 3261 §7.3.1 allows once, by long and
// compact name (lower case).
var singleHeaders = map[string]string{
	"call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq", "from": "From", "f": "From",
	"to": "To", "t": "To", "max-forwards": "Max-Forwards", "content-length": "Content-Length",
	"l": "Content-Length", "content-type": "Content-Type", "c": "Content-Type", "expires": "Expires",
}

// addressHeaders hold name-addr or addr-spec values (RFC 3261 §20.10).
var addressHeaders = map[string]string{
	"from": "From", "f": "From", "to": "To", "t": "To", "contact": "Contact", "m": "Contact",
	"route": "Route", "record-route": "Record-Route", "reply-to": "Reply-To",
}

// required are the headers without which a request cannot be answered
// sensibly (RFC 3261 §8.1.1); Max-Forwards is left out for RFC 2543 peers.
var required = []string{"Via", "From", "To", "Call-ID", "CSeq"}

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
	if v := checkRequestLine(string(line)); v != passed {
		return nil, v
	}
	return inspectFields(data, end, line, rest, true)
}

// inspectFields checks the header fields and Content-Length of the message
// whose head ends at end, start line apart.
func inspectFields(data []byte, end int, line, rest []byte, request bool) ([]byte, verdict) {
	body := data[end+4:]
	fields, folded := unfold(rest)
	seen := map[string]int{}
	contentLength := -1
	for _, f := range fields {
		name, value, ok := splitField(f)
		if !ok {
			return nil, refusal(400, "Malformed header line")
		}
		lower := strings.ToLower(name)
		if canon, single := singleHeaders[lower]; single {
			if seen[canon]++; seen[canon] > 1 {
				return nil, refusal(400, "Multiple "+canon+" headers")
			}
		} else if lower == "via" || lower == "v" {
			seen["Via"]++
		}
		if lower != "call-id" && lower != "i" && !balancedQuotes(value) { // a Call-ID's word may hold '"'
			return nil, refusal(400, "Unterminated quoted string in "+name)
		}
		if v := checkValue(lower, value); v != passed {
			return nil, v
		}
		if lower == "content-length" || lower == "l" {
			contentLength, _ = strconv.Atoi(strings.TrimSpace(value))
		}
	}
	if request {
		for _, h := range required {
			if seen[h] == 0 {
				return nil, refusal(400, "Missing "+h+" header")
			}
		}
	}
	switch {
	case contentLength > len(body):
		return nil, refusal(400, "Content-Length larger than the message")
	case contentLength >= 0:
		body = body[:contentLength]
	}
	branchless := request && !hasRFC3261Branch(fields)
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
		name, value, _ := splitField(f)
		if lower := strings.ToLower(name); branchless && top && (lower == "via" || lower == "v") {
			first, others, more := strings.Cut(value, ",")
			kept := []string{}
			for _, p := range splitOutsideQuotes(first, ';') {
				if k, _, _ := strings.Cut(p, "="); !strings.EqualFold(strings.TrimSpace(k), "branch") {
					kept = append(kept, strings.TrimSpace(p))
				}
			}
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

// hasRFC3261Branch reports whether the top Via has a branch made of the
// magic cookie and more (RFC 3261 §8.1.1.7).
func hasRFC3261Branch(fields [][]byte) bool {
	for _, f := range fields {
		name, value, _ := splitField(f)
		if l := strings.ToLower(name); l != "via" && l != "v" {
			continue
		}
		first, _, _ := strings.Cut(value, ",")
		for _, p := range splitOutsideQuotes(first, ';')[1:] {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "branch") {
				v = strings.TrimSpace(v)
				return strings.HasPrefix(v, "z9hG4bK") && len(v) > len("z9hG4bK")
			}
		}
		return false
	}
	return false
}

// rfc2543Branch hashes the Request-URI, From, Call-ID, CSeq number and top
// Via: the same for a request, its retransmissions and, the method aside,
// its ACK (RFC 3261 §17.2.3).
func rfc2543Branch(line []byte, fields [][]byte) string {
	h := fnv.New64a()
	parts := strings.Split(string(line), " ")
	h.Write([]byte(parts[1]))
	seenVia := false
	for _, f := range fields {
		name, value, _ := splitField(f)
		switch strings.ToLower(name) {
		case "via", "v":
			if seenVia {
				continue
			}
			seenVia = true
		case "cseq":
			value, _, _ = strings.Cut(value, " ")
		case "from", "f", "call-id", "i":
		default:
			continue
		}
		h.Write([]byte{0})
		h.Write([]byte(value))
	}
	return "z9hG4bK-rfc2543-" + strconv.FormatUint(h.Sum64(), 36)
}

// unfold returns the header fields, with continuation lines joined by one
// space (RFC 3261 §7.3.1), and whether the layout must be rewritten for
// sipgo: a line was folded or a name has white space before its colon.
// The fields of an unfolded head share its memory.
func unfold(rest []byte) ([][]byte, bool) {
	var fields [][]byte
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
func splitField(f []byte) (string, string, bool) {
	name, value, ok := bytes.Cut(f, []byte(":"))
	n := strings.TrimRight(string(name), " \t")
	if !ok || !isToken(n) {
		return "", "", false
	}
	return n, strings.Trim(string(value), " \t"), true
}

// checkRequestLine applies RFC 3261 §7.1: Method SP Request-URI SP
// SIP-Version, single spaces, a URI without white space or brackets.
func checkRequestLine(line string) verdict {
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !isToken(parts[0]) || parts[1] == "" || strings.ContainsAny(parts[1], "\t<>\"") {
		return refusal(400, "Malformed Request-Line")
	}
	if v := parts[2]; v != "SIP/2.0" {
		if strings.HasPrefix(v, "SIP/") {
			return refusal(505, "Version Not Supported")
		}
		return refusal(400, "Malformed Request-Line")
	}
	scheme, rest, _ := strings.Cut(parts[1], ":")
	if !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") {
		return refusal(416, "Unsupported URI Scheme")
	}
	// Headers follow the host part; the user part may hold a '?' itself.
	if strings.Contains(rest[strings.LastIndexByte(rest, '@')+1:], "?") {
		return refusal(400, "Headers in Request-URI")
	}
	return passed
}

// validStatusLine applies RFC 3261 §7.2: SIP-Version SP 3DIGIT SP phrase.
func validStatusLine(line []byte) bool {
	parts := strings.SplitN(string(line), " ", 3)
	if len(parts) < 2 || parts[0] != "SIP/2.0" || len(parts[1]) != 3 {
		return false
	}
	code, err := strconv.Atoi(parts[1])
	return err == nil && code >= 100 && code <= 699
}

// checkValue checks the values sipgo reads too leniently or not at all.
func checkValue(name, value string) verdict {
	switch name {
	case "content-length", "l":
		if _, ok := decimal(value, 1<<31-1); !ok {
			return refusal(400, "Malformed Content-Length")
		}
	case "max-forwards":
		if _, ok := decimal(value, 255); !ok {
			return refusal(400, "Malformed Max-Forwards")
		}
	case "expires":
		if _, ok := decimal(value, 1<<32-1); !ok {
			return refusal(400, "Malformed Expires")
		}
	case "cseq":
		num, method, _ := strings.Cut(value, " ")
		if _, ok := decimal(num, 1<<31-1); !ok || !isToken(strings.TrimSpace(method)) {
			return refusal(400, "Malformed CSeq")
		}
	case "via", "v":
		if !validVia(value) {
			return refusal(400, "Malformed Via")
		}
	}
	if canon, ok := addressHeaders[name]; ok && !validAddresses(name, value) {
		return refusal(400, "Malformed "+canon)
	}
	return passed
}

// decimal reads 1*DIGIT no larger than max.
func decimal(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n <= max && strings.Trim(s, "0123456789") == ""
}

// validVia checks each via-parm of a Via value: "SIP / 2.0 / transport"
// then a sent-by, and no empty parameter or value (RFC 3261 §20.42).
func validVia(value string) bool {
	for _, parm := range splitOutsideQuotes(value, ',') {
		params := splitOutsideQuotes(parm, ';')
		proto := strings.Fields(strings.ReplaceAll(params[0], "/", " / "))
		if len(proto) < 6 || !strings.EqualFold(proto[0], "SIP") || proto[1] != "/" || proto[3] != "/" || !isToken(proto[4]) {
			return false
		}
		for _, p := range params[1:] {
			if strings.TrimSpace(p) == "" {
				return false
			}
		}
	}
	return true
}

// validAddresses checks name-addr and addr-spec values (RFC 3261 §20.10,
// §25.1): a display name is a quoted string or tokens, nothing but the
// URI between the angle brackets, and a URI outside them carries no
// headers. From and To hold one address; the others may list several.
func validAddresses(name, value string) bool {
	values := []string{value}
	if name != "from" && name != "f" && name != "to" && name != "t" {
		values = splitOutsideQuotes(value, ',')
	}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "*" && (name == "contact" || name == "m") {
			continue
		}
		lt := indexOutsideQuotes(v, '<')
		if lt < 0 {
			if strings.ContainsAny(v, "?,\"") || strings.Contains(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]), " ") {
				return false
			}
			continue
		}
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			return false
		}
		if uri := v[lt+1 : lt+gt]; uri == "" || strings.ContainsAny(uri, " \t") {
			return false
		}
		display := strings.TrimSpace(v[:lt])
		if display != "" && !strings.HasPrefix(display, "\"") {
			for _, word := range strings.Fields(display) {
				if !isToken(word) {
					return false
				}
			}
		}
	}
	return true
}

// balancedQuotes reports whether every quoted string in s ends.
func balancedQuotes(s string) bool {
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

// splitOutsideQuotes splits s at sep where sep is not inside a quoted
// string or angle brackets.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
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
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
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
func isToken(s string) bool {
	if s == "" {
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
