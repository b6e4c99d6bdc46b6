package dockerfile

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// parseJSON reads rest as an exec-form array. It reports false (and no
// error) when rest is not a valid JSON array, so that the caller falls back
// to shell form as BuildKit does; it returns errNotStringArray when rest is
// a valid array holding something other than strings.
func (p *parser) parseJSON(rest string, n *Node) (bool, error) {
	s := trimLeftSpace(rest)
	if len(s) == 0 || s[0] != '[' {
		return false, nil
	}
	j := jsonScanner{src: s}
	args := p.strs.take(4)
	elems, nonString, ok := j.topArray(args)
	if !ok {
		return false, nil
	}
	j.skipSpace()
	if j.pos != len(j.src) || j.rangeErr {
		return false, nil
	}
	if nonString {
		return false, errNotStringArray
	}
	n.Args = elems
	n.JSON = true
	return true, nil
}

type jsonScanner struct {
	src      string
	pos      int
	depth    int
	rangeErr bool // a number does not fit a float64 (json.Unmarshal fails)
}

func (j *jsonScanner) skipSpace() {
	for j.pos < len(j.src) {
		switch j.src[j.pos] {
		case ' ', '\t', '\n', '\r':
			j.pos++
		default:
			return
		}
	}
}

// topArray scans the outer array, collecting its string elements.
func (j *jsonScanner) topArray(out []string) ([]string, bool, bool) {
	j.pos++ // '['
	j.depth = 1
	nonString := false
	j.skipSpace()
	if j.pos < len(j.src) && j.src[j.pos] == ']' {
		j.pos++
		return out, false, true
	}
	for {
		j.skipSpace()
		if j.pos < len(j.src) && j.src[j.pos] == '"' {
			s, ok := j.str()
			if !ok {
				return nil, false, false
			}
			out = append(out, s)
		} else {
			if !j.value() {
				return nil, false, false
			}
			nonString = true
		}
		j.skipSpace()
		if j.pos >= len(j.src) {
			return nil, false, false
		}
		switch j.src[j.pos] {
		case ',':
			j.pos++
		case ']':
			j.pos++
			return out, nonString, true
		default:
			return nil, false, false
		}
	}
}

// value scans any JSON value, discarding it.
func (j *jsonScanner) value() bool {
	j.skipSpace()
	if j.pos >= len(j.src) {
		return false
	}
	switch c := j.src[j.pos]; {
	case c == '"':
		_, ok := j.str()
		return ok
	case c == '[':
		return j.container(']', false)
	case c == '{':
		return j.container('}', true)
	case c == 't':
		return j.literal("true")
	case c == 'f':
		return j.literal("false")
	case c == 'n':
		return j.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return j.number()
	}
	return false
}

func (j *jsonScanner) literal(lit string) bool {
	if !strings.HasPrefix(j.src[j.pos:], lit) {
		return false
	}
	j.pos += len(lit)
	return true
}

// container scans an array or, when object is set, an object.
func (j *jsonScanner) container(end byte, object bool) bool {
	j.depth++
	if j.depth > maxJSONDepth {
		return false
	}
	defer func() { j.depth-- }()
	j.pos++
	j.skipSpace()
	if j.pos < len(j.src) && j.src[j.pos] == end {
		j.pos++
		return true
	}
	for {
		if object {
			j.skipSpace()
			if j.pos >= len(j.src) || j.src[j.pos] != '"' {
				return false
			}
			if _, ok := j.str(); !ok {
				return false
			}
			j.skipSpace()
			if j.pos >= len(j.src) || j.src[j.pos] != ':' {
				return false
			}
			j.pos++
		}
		if !j.value() {
			return false
		}
		j.skipSpace()
		if j.pos >= len(j.src) {
			return false
		}
		switch j.src[j.pos] {
		case ',':
			j.pos++
		case end:
			j.pos++
			return true
		default:
			return false
		}
	}
}

func (j *jsonScanner) number() bool {
	start := j.pos
	s := j.src
	i := j.pos
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	j.pos = i
	if _, err := strconv.ParseFloat(s[start:i], 64); err != nil {
		j.rangeErr = true
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// str scans a JSON string at j.pos and returns its decoded value, decoded
// the way encoding/json does (invalid UTF-8 and lone surrogates become
// U+FFFD).
func (j *jsonScanner) str() (string, bool) {
	j.pos++ // opening quote
	start := j.pos
	simple := true
	for i := start; i < len(j.src); i++ {
		c := j.src[i]
		switch {
		case c == '"':
			if simple {
				j.pos = i + 1
				return j.src[start:i], true
			}
			return j.decode(start, i)
		case c < 0x20:
			return "", false
		case c == '\\':
			simple = false
			i++
			if i >= len(j.src) {
				return "", false
			}
			switch j.src[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(j.src) || !isHex4(j.src[i+1:i+5]) {
					return "", false
				}
				i += 4
			default:
				return "", false
			}
		case c >= utf8.RuneSelf:
			simple = false
		}
	}
	return "", false
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(s string) rune {
	v, _ := strconv.ParseUint(s, 16, 32)
	return rune(v)
}

// decode unquotes the already validated string body src[start:end].
func (j *jsonScanner) decode(start, end int) (string, bool) {
	s := j.src[start:end]
	j.pos = end + 1
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			i++
			switch s[i] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+1 : i+5])
				i += 5
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if d := utf16.DecodeRune(r, hex4(s[i+2:i+6])); d != utf8.RuneError {
							b = utf8.AppendRune(b, d)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[i])
			}
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += n
	}
	return string(b), true
}
