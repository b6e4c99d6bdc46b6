package dockerfile

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isASCIIBlank reports the bytes of BuildKit's `[\t\v\f\r ]` class.
func isASCIIBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'
}

// isByteSpace is unicode.IsSpace applied to a single byte taken as a rune,
// which is how BuildKit scans flags and HEALTHCHECK arguments: besides the
// ASCII blanks it also matches the bytes 0x85 and 0xA0.
func isByteSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x85, 0xA0:
		return true
	}
	return false
}

// trimLeftSpace removes leading Unicode white space.
func trimLeftSpace(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !isByteSpace(c) || c >= 0x80 {
				return s[i:]
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			return s[i:]
		}
		i += n
	}
	return ""
}

// trimNewline removes every trailing '\r' and '\n'.
func trimNewline(s string) string {
	i := len(s)
	for i > 0 && (s[i-1] == '\n' || s[i-1] == '\r') {
		i--
	}
	return s[:i]
}

// splitBlank splits s at the first run of ASCII blanks, like BuildKit's
// `[\t\v\f\r ]+` split with a limit of 2. rest is "" and ok false when s
// has no blank.
func splitBlank(s string) (first, rest string, ok bool) {
	i := 0
	for i < len(s) && !isASCIIBlank(s[i]) {
		i++
	}
	if i == len(s) {
		return s, "", false
	}
	j := i
	for j < len(s) && isASCIIBlank(s[j]) {
		j++
	}
	return s[:i], s[j:], true
}

// isComment reports whether a line is a comment: '#' after leading white
// space.
func isComment(s string) bool {
	s = trimLeftSpace(s)
	return len(s) > 0 && s[0] == '#'
}

// validUTF8Runes returns s with every invalid byte replaced by U+FFFD,
// byte by byte, as writing decoded runes back does.
func validUTF8Runes(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
