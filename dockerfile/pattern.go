package dockerfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// compilePattern turns a shell pattern (* any string, ? any character,
// \ escapes *, ? and \) into a regular expression. A \ before } or / is
// dropped: it only kept the character from ending the ${...} form.
// greedy makes * match the longest string; anchored matches at the start.
func compilePattern(pattern string, greedy, anchored bool) (*regexp.Regexp, error) {
	var out strings.Builder
	out.Grow(len(pattern) + 4)
	if anchored {
		out.WriteByte('^')
	}
	star := ".*?"
	if greedy {
		star = ".*"
	}
	p := pattern
	if strings.HasPrefix(p, "\uFEFF") {
		p = p[3:]
	}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		switch r {
		case '*':
			out.WriteString(star)
			continue
		case '?':
			out.WriteByte('.')
			continue
		case '\\':
			if i < len(p) && (p[i] == '}' || p[i] == '/') {
				continue
			}
			out.WriteByte('\\')
			if i >= len(p) {
				return nil, fmt.Errorf("invalid escape '\\%c'", rune(-1))
			}
			r, n = utf8.DecodeRuneInString(p[i:])
			i += n
			if r != '*' && r != '?' && r != '\\' {
				return nil, fmt.Errorf("invalid escape '\\%c'", r)
			}
		case '[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$':
			out.WriteByte('\\')
		}
		out.WriteRune(r)
	}
	return regexp.Compile(out.String())
}

func trimPrefixPattern(pattern, value string, greedy bool) (string, error) {
	re, err := compilePattern(pattern, greedy, true)
	if err != nil {
		return "", fmt.Errorf("invalid pattern (%s) in substitution: %w", pattern, err)
	}
	if loc := re.FindStringIndex(value); loc != nil {
		value = value[loc[1]:]
	}
	return value, nil
}

// trimSuffixPattern removes the shortest (or longest) suffix matching
// pattern. Regular expressions find leftmost matches, so both the value
// and the pattern are reversed and the prefix is trimmed instead.
func trimSuffixPattern(pattern, value string, greedy bool) (string, error) {
	v, err := trimPrefixPattern(reversePattern(pattern), reverseRunes(value), greedy)
	if err != nil {
		return "", err
	}
	return reverseRunes(v), nil
}

// reversePattern reverses pattern rune by rune, keeping each escape in
// front of the character it escapes: `a\*c` gives `c\*a`.
func reversePattern(pattern string) string {
	in := []rune(pattern)
	out := make([]rune, len(in))
	last := len(in) - 1
	for i := 0; i <= last; {
		if in[i] == '\\' && i != last {
			out[last-i-1] = in[i]
			out[last-i] = in[i+1]
			i += 2
			continue
		}
		out[last-i] = in[i]
		i++
	}
	return string(out)
}

func reverseRunes(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}
