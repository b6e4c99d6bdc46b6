package dockerfile

import (
	"errors"
	"strconv"
	"strings"
)

// readHeredocs finds the here-documents started on line and reads their
// bodies from the following lines. It returns the last line read (the
// zero rawLine when line starts none).
func (p *parser) readHeredocs(n *Node, line string) (rawLine, error) {
	docs, err := heredocsFromLine(line)
	if err != nil {
		return rawLine{}, err
	}
	var last rawLine
	for _, h := range docs {
		bodyStart := p.pos
		bodyEnd := p.pos
		terminated := false
		for {
			l, ok := p.nextLine()
			if !ok {
				break
			}
			last = l
			t := p.src[l.start:l.end]
			if h.Chomp {
				t = strings.TrimLeft(t, "\t")
			}
			if t == h.Name {
				terminated = true
				break
			}
			bodyEnd = l.next
		}
		if !terminated {
			if last.next != 0 {
				n.Range.End = Position{Line: p.line, Column: last.end - p.lineStart(last) + 1}
			}
			return rawLine{}, errors.New("unterminated heredoc")
		}
		h.Content = p.src[bodyStart:bodyEnd]
		n.Heredocs = append(n.Heredocs, h)
	}
	return last, nil
}

// heredocsFromLine lexes an instruction line the way BuildKit does (quotes
// and escapes kept, variables left alone) and returns the heredoc words.
func heredocsFromLine(line string) ([]Heredoc, error) {
	lx := Lexer{KeepQuotes: true, KeepEscapes: true, KeepUnset: true}
	words, _ := lx.ExpandWords(line, nil)
	var docs []Heredoc
	for _, w := range words {
		h, err := ParseHeredoc(w)
		if err != nil {
			return nil, err
		}
		if h != nil {
			docs = append(docs, *h)
		}
	}
	return docs, nil
}

// ParseHeredoc parses one word that may start a here-document, such as
// "<<EOF", "<<-'EOF'" or "3<<EOF". It returns nil, nil when the word is not
// a heredoc (for example "<<", "<EOF" or "<<EOF sh") and an error when its
// name has unbalanced quotes. Content is left empty.
func ParseHeredoc(word string) (*Heredoc, error) {
	fd, chomp, rest, ok := matchHeredoc(word)
	if !ok || rest == "" {
		return nil, nil
	}
	lx := Lexer{KeepUnset: true}
	names, err := lx.ExpandWords(rest, nil)
	if err != nil {
		return nil, err
	}
	if len(names) != 1 {
		return nil, nil
	}
	lx.KeepQuotes = true
	raw, err := lx.ExpandWords(rest, nil)
	if err != nil {
		return nil, err
	}
	if len(raw) != 1 {
		return nil, errors.New("internal lexing of heredoc produced inconsistent results: " + rest)
	}
	quotes := func(s string) int { return strings.Count(s, "'") + strings.Count(s, `"`) }
	return &Heredoc{
		Name:           names[0],
		FileDescriptor: uint(fd),
		Expand:         quotes(names[0]) == quotes(raw[0]),
		Chomp:          chomp,
	}, nil
}

// matchHeredoc matches `^(\d*)<<(-?)\s*([^<]*)$`.
func matchHeredoc(w string) (fd uint64, chomp bool, rest string, ok bool) {
	i := 0
	for i < len(w) && isDigit(w[i]) {
		i++
	}
	digits := w[:i]
	if !strings.HasPrefix(w[i:], "<<") {
		return 0, false, "", false
	}
	i += 2
	if i < len(w) && w[i] == '-' {
		chomp = true
		i++
	}
	for i < len(w) && isRegexpSpace(w[i]) {
		i++
	}
	rest = w[i:]
	if strings.IndexByte(rest, '<') >= 0 {
		return 0, false, "", false
	}
	fd, _ = strconv.ParseUint(digits, 10, 0)
	return fd, chomp, rest, true
}

// isRegexpSpace is RE2's \s: [\t\n\f\r ].
func isRegexpSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}
