package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Variables is a set of variables for expansion. Lookup reports a variable's value
// and whether it is set; a variable set to "" is set.
type Variables interface {
	Lookup(name string) (value string, ok bool)
}

// Vars is a Variables backed by a map. A nil Vars has no variables.
type Vars map[string]string

// Lookup returns the value of name and whether it is set.
func (v Vars) Lookup(name string) (string, bool) {
	s, ok := v[name]
	return s, ok
}

// Lexer is the shell-word lexer that Dockerfile variable substitution uses,
// with BuildKit's semantics: $v and ${v}, the modifiers ${v:-w} ${v-w}
// ${v:+w} ${v+w} ${v:?msg} ${v?msg}, the patterns ${v#p} ${v##p} ${v%p}
// ${v%%p} ${v/p/r} ${v//p/r}, single and double quotes, and the escape
// character. It runs no commands and knows no arithmetic, command
// substitution or globbing.
//
// The zero Lexer is ready to use: escape character '\', quotes and escapes
// are processed and removed, unset variables expand to "". A Lexer is a
// small value; its methods are safe for concurrent use.
type Lexer struct {
	// Escape is the escape character, '\\' or '`'. Zero means '\\'.
	Escape byte
	// KeepQuotes keeps quote characters in the result (they still group
	// words and still stop expansion inside single quotes).
	KeepQuotes bool
	// KeepEscapes keeps escape characters in the result.
	KeepEscapes bool
	// KeepUnset leaves a reference to an unset variable as written
	// ("$v", "${v:-w}") instead of expanding it.
	KeepUnset bool
	// NoQuotes treats quote characters as ordinary characters.
	NoQuotes bool
}

// Expand expands the variables in word and removes its quotes and escapes,
// keeping the blanks between words: "a  $v" with v=b gives "a  b". An
// error names the word and the problem, in BuildKit's wording, for example
// `failed to process "${v:?}": v: is not allowed to be unset`.
func (l Lexer) Expand(word string, env Variables) (string, error) {
	s := l.newState(word, env, false)
	res, _, err := s.run(word)
	return res, err
}

// ExpandWords expands word like Expand and then splits it into words at
// unquoted blanks, as EXPOSE and heredoc detection do. Blanks that come
// from a variable's value split words too; quoted blanks do not.
//
// It keeps a BuildKit quirk for compatibility: when a ${...} form with a
// modifier or pattern appears inside a word, the part of that word before
// it is dropped ("ab${x:-c}d" gives ["cd"]).
func (l Lexer) ExpandWords(word string, env Variables) ([]string, error) {
	s := l.newState(word, env, true)
	_, words, err := s.run(word)
	return words, err
}

// Expand expands word with the zero Lexer.
func Expand(word string, env Variables) (string, error) {
	return Lexer{}.Expand(word, env)
}

// ExpandWords splits and expands word with the zero Lexer.
func ExpandWords(word string, env Variables) ([]string, error) {
	return Lexer{}.ExpandWords(word, env)
}

const eof = -1

type lexState struct {
	Lexer
	src        string
	pos        int
	env        Variables
	esc        rune
	rawEscapes bool
	wordBuf    strings.Builder // shared by nested calls, as in BuildKit
}

func (l Lexer) newState(word string, env Variables, _ bool) *lexState {
	s := &lexState{Lexer: l, src: word, env: env, esc: rune(l.Escape), rawEscapes: l.KeepEscapes}
	if s.esc == 0 {
		s.esc = '\\'
	}
	// A byte order mark at the very start is skipped, as text/scanner does.
	if strings.HasPrefix(word, "\uFEFF") {
		s.pos = 3
	}
	return s
}

func (s *lexState) run(source string) (string, []string, error) {
	res, words, err := s.stopOn(eof, s.rawEscapes, false)
	if err != nil {
		return "", nil, fmt.Errorf("failed to process %q: %w", source, err)
	}
	return res, words, nil
}

func (s *lexState) peek() rune {
	if s.pos >= len(s.src) {
		return eof
	}
	c := s.src[s.pos]
	if c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	return r
}

func (s *lexState) next() rune {
	if s.pos >= len(s.src) {
		return eof
	}
	c := s.src[s.pos]
	if c < utf8.RuneSelf {
		s.pos++
		return rune(c)
	}
	r, n := utf8.DecodeRuneInString(s.src[s.pos:])
	s.pos += n
	return r
}

// words collects the words of one stopOn call. Its buffer is shared with
// nested calls, which reset it (BuildKit's behaviour, kept on purpose).
type words struct {
	buf    *strings.Builder
	list   []string
	inWord bool
}

func (w *words) addChar(ch rune) {
	if unicode.IsSpace(ch) {
		if w.inWord && w.buf.Len() != 0 {
			w.list = append(w.list, w.buf.String())
			w.buf.Reset()
			w.inWord = false
		}
		return
	}
	w.addRawChar(ch)
}

func (w *words) addRawChar(ch rune) {
	w.buf.WriteRune(ch)
	w.inWord = true
}

func (w *words) addString(str string) {
	for _, ch := range str {
		w.addChar(ch)
	}
}

func (w *words) addRawString(str string) {
	w.buf.WriteString(str)
	w.inWord = true
}

func (w *words) get() []string {
	if w.buf.Len() > 0 {
		w.list = append(w.list, w.buf.String())
		w.buf.Reset()
		w.inWord = false
	}
	return w.list
}

// stopOn processes input up to stop (or the end when stop is eof).
// rawEscapes keeps escape characters; patternEscapes doubles literal
// escape characters inside quotes so that a pattern can be compiled later.
func (s *lexState) stopOn(stop rune, rawEscapes, patternEscapes bool) (string, []string, error) {
	var result strings.Builder
	s.wordBuf.Reset()
	w := words{buf: &s.wordBuf}
	if rawEscapes != s.rawEscapes {
		prev := s.rawEscapes
		s.rawEscapes = rawEscapes
		defer func() { s.rawEscapes = prev }()
	}
	for {
		ch := s.peek()
		if ch == eof {
			break
		}
		if stop != eof && ch == stop {
			s.next()
			return result.String(), w.get(), nil
		}
		var tmp string
		var err error
		switch {
		case ch == '$':
			tmp, err = s.dollar()
			if err != nil {
				return "", nil, err
			}
			result.WriteString(tmp)
			w.addString(tmp)
			continue
		case ch == '<':
			tmp = s.possibleHeredoc()
		case ch == '\'' && !s.NoQuotes:
			tmp, err = s.singleQuote(patternEscapes)
		case ch == '"' && !s.NoQuotes:
			tmp, err = s.doubleQuote(patternEscapes)
		default:
			if !s.plainChar(&result, &w) {
				return result.String(), w.get(), s.unterminated(stop)
			}
			continue
		}
		if err != nil {
			return "", nil, err
		}
		result.WriteString(tmp)
		w.addRawString(tmp)
	}
	return result.String(), w.get(), s.unterminated(stop)
}

func (s *lexState) unterminated(stop rune) error {
	if stop != eof {
		return fmt.Errorf("unexpected end of statement while looking for matching %s", string(stop))
	}
	return nil
}

// plainChar consumes one ordinary character (or an escape and the character
// it escapes). It reports false when an escape ends the input.
func (s *lexState) plainChar(result *strings.Builder, w *words) bool {
	ch := s.next()
	if ch != s.esc {
		w.addChar(ch)
		result.WriteRune(ch)
		return true
	}
	if s.rawEscapes {
		w.addRawChar(ch)
		result.WriteRune(ch)
	}
	ch = s.next()
	if ch == eof {
		return false
	}
	w.addRawChar(ch)
	result.WriteRune(ch)
	return true
}

func (s *lexState) singleQuote(patternEscapes bool) (string, error) {
	var b strings.Builder
	ch := s.next()
	if s.KeepQuotes {
		b.WriteRune(ch)
	}
	for {
		ch = s.next()
		switch ch {
		case eof:
			return "", errors.New("unexpected end of statement while looking for matching single-quote")
		case '\'':
			if s.KeepQuotes {
				b.WriteRune(ch)
			}
			return b.String(), nil
		}
		if patternEscapes && ch == s.esc {
			b.WriteRune(ch)
		}
		b.WriteRune(ch)
	}
}

func (s *lexState) doubleQuote(patternEscapes bool) (string, error) {
	var b strings.Builder
	ch := s.next()
	if s.KeepQuotes {
		b.WriteRune(ch)
	}
	for {
		switch s.peek() {
		case eof:
			return "", errors.New("unexpected end of statement while looking for matching double-quote")
		case '"':
			ch = s.next()
			if s.KeepQuotes {
				b.WriteRune(ch)
			}
			return b.String(), nil
		case '$':
			v, err := s.dollar()
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			continue
		}
		ch = s.next()
		if ch == s.esc {
			switch s.peek() {
			case eof:
				continue
			case '"', '$', s.esc:
				if s.rawEscapes {
					b.WriteRune(ch)
				}
				ch = s.next()
			default:
				if s.rawEscapes && (!s.KeepQuotes || patternEscapes) {
					b.WriteRune(ch)
				}
			}
		}
		b.WriteRune(ch)
	}
}

func (s *lexState) possibleHeredoc() string {
	s.next()
	if s.peek() != '<' {
		return "<"
	}
	s.next()
	start := s.pos
	for {
		c := s.peek()
		if c != ' ' && c != '\t' && c != '\r' {
			break
		}
		s.next()
	}
	return "<<" + s.src[start:s.pos]
}

// name reads a variable name: letters, digits and '_', or a run of digits,
// or one special parameter character.
func (s *lexState) name() string {
	start := s.pos
	for {
		ch := s.peek()
		if ch == eof {
			break
		}
		if s.pos == start && unicode.IsDigit(ch) {
			for ch := s.peek(); ch != eof && unicode.IsDigit(ch); ch = s.peek() {
				s.next()
			}
			return s.src[start:s.pos]
		}
		if s.pos == start && isSpecialParam(ch) {
			s.next()
			return string(ch)
		}
		if !unicode.IsLetter(ch) && !unicode.IsDigit(ch) && ch != '_' {
			break
		}
		s.next()
	}
	return s.src[start:s.pos]
}

func isSpecialParam(ch rune) bool {
	switch ch {
	case '@', '*', '#', '?', '-', '$', '!', '0':
		return true
	}
	return false
}

func (s *lexState) lookup(name string) (string, bool) {
	if s.env == nil {
		return "", false
	}
	return s.env.Lookup(name)
}
