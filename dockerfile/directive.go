package dockerfile

import (
	"fmt"
	"strings"
)

const (
	dirSyntax = 1 << iota
	dirEscape
	dirCheck
)

// directive handles a possible parser directive on a first line (already
// stripped of leading blanks). Directives count only in the comment lines
// at the very top of the file: the first line that is not a directive
// (a blank line, another comment, an instruction, an unknown key) ends
// them. It reports whether the line was a directive.
func (p *parser) directive(s string, l rawLine) (bool, error) {
	name, value, ok := matchDirective(s)
	if !ok {
		p.dirDone = true
		return false, nil
	}
	key := strings.ToLower(name)
	var bit uint8
	switch key {
	case "syntax":
		bit = dirSyntax
	case "escape":
		bit = dirEscape
	case "check":
		bit = dirCheck
	default:
		p.dirDone = true
		return false, nil
	}
	r := Range{
		Start: Position{Line: p.line, Column: 1},
		End:   Position{Line: p.line, Column: l.end - p.lineStart(l) + 1},
	}
	if p.dirSeen&bit != 0 {
		return false, newParseError(r, "only one %s parser directive can be used", key)
	}
	p.dirSeen |= bit
	if bit == dirEscape {
		if value != "`" && value != `\` {
			return false, newParseError(r, "invalid escape token '%s' does not match ` or \\", value)
		}
		p.esc = value[0]
	}
	p.syn.Directives = append(p.syn.Directives, Directive{Name: key, Value: value, Range: r})
	return true, nil
}

// matchDirective matches "#" + blanks + `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`.
func matchDirective(s string) (name, value string, ok bool) {
	if len(s) == 0 || s[0] != '#' {
		return "", "", false
	}
	s = trimLeftSpace(s[1:])
	i := 0
	for i < len(s) && (isLetter(s[i]) || (i > 0 && isDigit(s[i]))) {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	name = s[:i]
	for i < len(s) && isRegexpSpace(s[i]) {
		i++
	}
	if i == len(s) || s[i] != '=' {
		return "", "", false
	}
	rest := s[i+1:]
	if rest == "" {
		return "", "", false
	}
	j := 0
	for j < len(rest)-1 && isRegexpSpace(rest[j]) {
		j++
	}
	v := rest[j:]
	k := len(v)
	for k > 1 && isRegexpSpace(v[k-1]) {
		k--
	}
	v = v[:k]
	if strings.IndexByte(v, '\n') >= 0 {
		return "", "", false
	}
	return name, v, true
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// DirectiveValue returns the value of the named directive (lower case:
// "syntax", "escape", "check") and whether the file has it.
func (s *Syntax) DirectiveValue(name string) (string, bool) {
	for _, d := range s.Directives {
		if d.Name == name {
			return d.Value, true
		}
	}
	return "", false
}

var _ = fmt.Sprintf
