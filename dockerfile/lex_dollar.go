package dockerfile

import (
	"errors"
	"fmt"
)

var (
	errMissingBrace   = errors.New("syntax error: missing '}'")
	errBadSubst       = errors.New("syntax error: bad substitution")
	errMissingSlashIn = errors.New("syntax error: missing '/' in ${}")
)

// dollar expands the $ reference at the current position.
func (s *lexState) dollar() (string, error) {
	s.next() // '$'
	if s.peek() != '{' {
		name := s.name()
		if name == "" {
			return "$", nil
		}
		v, ok := s.lookup(name)
		if !ok && s.KeepUnset {
			return "$" + name, nil
		}
		return v, nil
	}
	s.next() // '{'
	switch s.peek() {
	case eof:
		return "", errMissingBrace
	case '{', '}', ':':
		return "", errBadSubst
	}
	name := s.name()
	ch := s.next()
	switch ch {
	case '}':
		v, ok := s.lookup(name)
		if !ok && s.KeepUnset {
			return "${" + name + "}", nil
		}
		return v, nil
	case '/':
		return s.substitute(name)
	case ':', '+', '-', '?', '#', '%':
		return s.modifier(name, ch)
	}
	return "", fmt.Errorf("unsupported modifier (%s) in substitution", string(ch))
}

// modifier handles ${name OP word} for the -, +, ?, #, % families, with an
// optional ':' (null counts as unset).
func (s *lexState) modifier(name string, ch rune) (string, error) {
	chs := string(ch)
	nullIsUnset := false
	if ch == ':' {
		nullIsUnset = true
		ch = s.next()
		chs += string(ch)
	}
	pattern := ch == '#' || ch == '%'
	if nullIsUnset && pattern {
		return "", fmt.Errorf("unsupported modifier (%s) in substitution", chs)
	}
	word, _, err := s.stopOn('}', pattern, pattern)
	if err != nil {
		if s.peek() == eof {
			return "", errMissingBrace
		}
		return "", err
	}
	value, set := s.lookup(name)
	if s.KeepUnset && !set {
		return "${" + name + chs + word + "}", nil
	}
	unset := !set || (nullIsUnset && value == "")
	switch ch {
	case '-':
		if unset {
			return word, nil
		}
		return value, nil
	case '+':
		if unset {
			return "", nil
		}
		return word, nil
	case '?':
		switch {
		case !set:
			return "", fmt.Errorf("%s: %s", name, orDefault(word, "is not allowed to be unset"))
		case nullIsUnset && value == "":
			return "", fmt.Errorf("%s: %s", name, orDefault(word, "is not allowed to be empty"))
		}
		return value, nil
	case '#', '%':
		greedy := false
		if len(word) > 0 && rune(word[0]) == ch {
			greedy = true
			word = word[1:]
		}
		if ch == '%' {
			return trimSuffixPattern(word, value, greedy)
		}
		return trimPrefixPattern(word, value, greedy)
	}
	return "", fmt.Errorf("unsupported modifier (%s) in substitution", chs)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// substitute handles ${name/pattern/replacement} and ${name//pattern/replacement}.
func (s *lexState) substitute(name string) (string, error) {
	all := s.peek() == '/'
	if all {
		s.next()
	}
	pattern, _, err := s.stopOn('/', true, true)
	if err != nil {
		if s.peek() == eof {
			return "", errMissingSlashIn
		}
		return "", err
	}
	replacement, _, err := s.stopOn('}', true, false)
	if err != nil {
		if s.peek() == eof {
			return "", errMissingBrace
		}
		return "", err
	}
	value, set := s.lookup(name)
	if s.KeepUnset && !set {
		return "${" + name + "/" + pattern + "/" + replacement + "}", nil
	}
	re, err := compilePattern(pattern, true, false)
	if err != nil {
		return "", fmt.Errorf("invalid pattern (%s) in substitution: %w", pattern, err)
	}
	if all {
		return re.ReplaceAllString(value, replacement), nil
	}
	if loc := re.FindStringIndex(value); loc != nil {
		return value[:loc[0]] + replacement + value[loc[1]:], nil
	}
	return value, nil
}
