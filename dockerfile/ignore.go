package dockerfile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// ReadIgnore reads a .dockerignore file: one pattern a line; a UTF-8 byte
// order mark is dropped; lines starting with '#' are comments; blanks
// around a pattern are removed, empty lines skipped; a leading '!' makes
// an exception; each pattern is cleaned (path.Clean) and a leading '/' is
// removed, so "/a/b" and "a/b" are the same pattern.
func ReadIgnore(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
			first = false
		}
		p := string(line)
		if strings.HasPrefix(p, "#") {
			continue
		}
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		invert := p[0] == '!'
		if invert {
			p = strings.TrimSpace(p[1:])
		}
		if p != "" {
			p = path.Clean(p)
			if len(p) > 1 && p[0] == '/' {
				p = p[1:]
			}
		}
		if invert {
			p = "!" + p
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading ignore file: %w", err)
	}
	return out, nil
}

// IgnoreMatcher matches build-context paths against .dockerignore
// patterns with BuildKit's rules: '*' matches any run of characters but
// '/', '?' one character but '/', "**" any number of directories
// (including none), '[...]' a character class and '\' escapes the next
// character. Patterns apply in order; a later '!' pattern re-includes
// what earlier ones excluded. A path is excluded when it or one of its
// parent directories matches.
//
// The zero IgnoreMatcher excludes nothing. An IgnoreMatcher is immutable
// and safe for concurrent use.
type IgnoreMatcher struct {
	patterns   []ignorePattern
	exclusions bool
}

type matchKind uint8

const (
	matchExact matchKind = iota
	matchPrefix
	matchSuffix
	matchRegexp
)

type ignorePattern struct {
	text      string // cleaned pattern without '!'
	exclusion bool
	kind      matchKind
	re        *regexp.Regexp
}

// NewIgnoreMatcher compiles patterns (as ReadIgnore returns them). It
// fails with filepath.ErrBadPattern on a malformed pattern and on a lone
// "!".
func NewIgnoreMatcher(patterns []string) (*IgnoreMatcher, error) {
	m := &IgnoreMatcher{}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		p = path.Clean(p)
		ip := ignorePattern{}
		if p[0] == '!' {
			if len(p) == 1 {
				return nil, fmt.Errorf("illegal exclusion pattern: %q: %w", "!", filepath.ErrBadPattern)
			}
			ip.exclusion, p = true, p[1:]
			m.exclusions = true
		}
		if _, err := filepath.Match(p, "."); err != nil {
			return nil, fmt.Errorf("ignore pattern %q: %w", p, filepath.ErrBadPattern)
		}
		ip.text = p
		if err := ip.compile(); err != nil {
			return nil, fmt.Errorf("ignore pattern %q: %w", p, filepath.ErrBadPattern)
		}
		m.patterns = append(m.patterns, ip)
	}
	return m, nil
}

// compile picks the cheapest way to match the pattern: exact, prefix
// ("dir/**"), suffix ("**/name") or a regular expression.
func (p *ignorePattern) compile() error {
	var re strings.Builder
	re.WriteByte('^')
	kind := matchExact
	s := validUTF8Runes(p.text) // text/scanner reads invalid bytes as U+FFFD
	for i, tok := 0, 0; i < len(s); tok++ {
		c := s[i]
		i++
		switch {
		case c == '*' && i < len(s) && s[i] == '*':
			i++
			if i < len(s) && s[i] == '/' {
				i++
			}
			if i == len(s) {
				if kind == matchExact {
					kind = matchPrefix
				} else {
					re.WriteString(".*")
					kind = matchRegexp
				}
			} else {
				re.WriteString("(.*/)?")
				kind = matchRegexp
			}
			if tok == 0 {
				kind = matchSuffix
			}
		case c == '*':
			re.WriteString("[^/]*")
			kind = matchRegexp
		case c == '?':
			re.WriteString("[^/]")
			kind = matchRegexp
		case strings.IndexByte(".+()$", c) >= 0:
			// patternmatcher means to escape ".+()|{}$" too, but its
			// bitmap drops '|', '{' and '}', which stay regexp syntax.
			re.WriteByte('\\')
			re.WriteByte(c)
		case c == '\\':
			if i < len(s) {
				re.WriteByte('\\')
				n := utf8Len(s[i:])
				re.WriteString(s[i : i+n])
				i += n
				kind = matchRegexp
			} else {
				re.WriteByte('\\')
			}
		case c == '[' || c == ']':
			re.WriteByte(c)
			kind = matchRegexp
		default:
			re.WriteByte(c)
		}
	}
	p.kind = kind
	if kind != matchRegexp {
		return nil
	}
	re.WriteByte('$')
	r, err := regexp.Compile(re.String())
	p.re = r
	return err
}

func utf8Len(s string) int {
	for n := 1; n < len(s) && n < 4; n++ {
		if s[n]&0xC0 != 0x80 {
			return n
		}
	}
	return min(len(s), 4)
}

func (p *ignorePattern) match(file string) bool {
	switch p.kind {
	case matchExact:
		return file == p.text
	case matchPrefix:
		return strings.HasPrefix(file, p.text[:len(p.text)-2])
	case matchSuffix:
		suffix := p.text[2:]
		return strings.HasSuffix(file, suffix) || (suffix != "" && suffix[0] == '/' && file == suffix[1:])
	}
	return p.re.MatchString(file)
}

// Matches reports whether file (a slash-separated path relative to the
// build context) is excluded from the context. The context root "." is
// never excluded.
func (m *IgnoreMatcher) Matches(file string) bool {
	if m == nil {
		return false
	}
	file = path.Clean(file)
	if file == "." {
		return false
	}
	matched := false
	parent := path.Dir(file)
	for i := range m.patterns {
		p := &m.patterns[i]
		if p.exclusion != matched {
			continue
		}
		ok := p.match(file)
		if !ok && parent != "." {
			for j := 0; j < len(parent); j++ {
				if parent[j] == '/' && p.match(parent[:j]) {
					ok = true
					break
				}
			}
			ok = ok || p.match(parent)
		}
		if ok {
			matched = !p.exclusion
		}
	}
	return matched
}

// Patterns returns the compiled patterns, exceptions with their '!'.
func (m *IgnoreMatcher) Patterns() []string {
	if m == nil {
		return nil
	}
	out := make([]string, len(m.patterns))
	for i, p := range m.patterns {
		out[i] = p.text
		if p.exclusion {
			out[i] = "!" + p.text
		}
	}
	return out
}

// Exclusions reports whether any pattern is a '!' exception (a walker
// then cannot skip an excluded directory without looking inside).
func (m *IgnoreMatcher) Exclusions() bool { return m != nil && m.exclusions }

// LoadIgnore finds and reads the ignore file of a build: first
// <dockerfile>.dockerignore beside the Dockerfile (dockerfile is a path,
// relative paths taken from contextDir), then .dockerignore at the root
// of contextDir. It returns the matcher and the file it read; with no
// ignore file it returns a matcher that excludes nothing and "". It reads
// at most two small files; ctx is checked before each.
func LoadIgnore(ctx context.Context, contextDir, dockerfile string) (*IgnoreMatcher, string, error) {
	var candidates []string
	if dockerfile != "" {
		p := dockerfile
		if !filepath.IsAbs(p) {
			p = filepath.Join(contextDir, p)
		}
		candidates = append(candidates, p+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(contextDir, ".dockerignore"))
	for _, c := range candidates {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		f, err := os.Open(c)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("opening ignore file %q: %w", c, err)
		}
		pats, err := ReadIgnore(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("reading ignore file %q: %w", c, err)
		}
		m, err := NewIgnoreMatcher(pats)
		if err != nil {
			return nil, "", fmt.Errorf("ignore file %q: %w", c, err)
		}
		return m, c, nil
	}
	return &IgnoreMatcher{}, "", nil
}
