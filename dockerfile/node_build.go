package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

var errNotStringArray = errors.New("when using JSON array syntax, arrays must be comprised of strings only")

// newNode splits a logical line into keyword, flags and arguments, and
// applies the keyword's argument rules.
func (p *parser) newNode(line string, n *Node) error {
	s := strings.TrimSpace(line)
	kw, rest, _ := splitBlank(s)
	n.Keyword = kw
	n.kind = kindOf(kw)
	if rest != "" {
		args, err := p.extractFlags(rest, n)
		if err != nil {
			return err
		}
		rest = strings.TrimSpace(args)
	}
	n.Line = line
	return p.parseArgs(rest, n)
}

// extractFlags takes the leading --flag words off line and stores them in
// n.Flags. It returns what follows them. It reproduces BuildKit's byte-wise
// scan: quotes are removed, the escape character takes the next byte
// literally, and bytes of 0x80 and above are read as Latin-1 characters.
func (p *parser) extractFlags(line string, n *Node) (string, error) {
	pos := 0
	for {
		for pos < len(line) && isByteSpace(line[pos]) {
			pos++
		}
		if pos == len(line) {
			return "", nil
		}
		if line[pos] != '-' || pos+1 == len(line) || line[pos+1] != '-' {
			return line[pos:], nil
		}
		word, next, blankOK, raw := p.flagWord(line, pos)
		if word == "--" {
			if next == len(line) {
				return "", nil
			}
			return line[next:], nil
		}
		if blankOK || len(word) > 0 {
			if n.Flags == nil {
				n.Flags = p.strs.take(4)
			}
			n.Flags = append(n.Flags, word)
		}
		_ = raw
		pos = next
		if pos == len(line) {
			return "", nil
		}
	}
}

// flagWord reads one flag word starting at pos. It returns the word, the
// position of the blank that ended it (or len(line)), whether the word had
// quotes (an empty quoted word still counts) and whether it is a plain
// substring of line.
func (p *parser) flagWord(line string, pos int) (string, int, bool, bool) {
	start := pos
	plain := true
	for i := pos; i < len(line); i++ {
		c := line[i]
		if isByteSpace(c) {
			return line[start:i], i, false, true
		}
		if c == '\'' || c == '"' || c == p.esc || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return line[start:], len(line), false, true
	}
	var b strings.Builder
	inQuote := false
	var quote byte
	blankOK := false
	for ; pos < len(line); pos++ {
		c := line[pos]
		if !inQuote {
			if isByteSpace(c) {
				return b.String(), pos, blankOK, false
			}
			if c == '\'' || c == '"' {
				quote, blankOK, inQuote = c, true, true
				continue
			}
			if c == p.esc {
				if pos+1 == len(line) {
					continue
				}
				pos++
				c = line[pos]
			}
			b.WriteRune(rune(c))
			continue
		}
		if c == quote {
			inQuote = false
			continue
		}
		if c == p.esc {
			if pos+1 == len(line) {
				inQuote = false
				continue
			}
			pos++
			c = line[pos]
		}
		b.WriteRune(rune(c))
	}
	return b.String(), pos, blankOK, false
}

// parseArgs fills n.Args (and n.JSON, n.Sub) from the argument text.
func (p *parser) parseArgs(rest string, n *Node) error {
	switch n.kind {
	case kindAdd, kindCopy, kindVolume:
		return p.argsJSONOrList(rest, n)
	case kindCmd, kindEntrypoint, kindRun, kindShell:
		return p.argsJSONOrString(rest, n)
	case kindEnv:
		return p.argsNameValue(rest, n, "ENV")
	case kindLabel:
		return p.argsNameValue(rest, n, "LABEL")
	case kindArg:
		if rest != "" {
			n.Args = p.parseWords(rest, p.strs.take(2))
		}
	case kindFrom, kindExpose:
		p.argsBlankList(rest, n)
	case kindHealthcheck:
		return p.argsHealthcheck(rest, n)
	case kindMaintainer, kindStopsignal, kindUser, kindWorkdir:
		if rest != "" {
			n.Args = append(p.strs.take(1), rest)
		}
	case kindOnbuild:
		if rest == "" {
			return nil
		}
		sub := p.allocNode()
		sub.Range = n.Range
		if err := p.newNode(rest, sub); err != nil {
			return err
		}
		n.Sub = sub
	default:
		n.Args = append(p.strs.take(1), "")
	}
	return nil
}

func (p *parser) argsBlankList(rest string, n *Node) {
	if rest == "" {
		return
	}
	args := p.strs.take(4)
	for {
		w, r, ok := splitBlank(rest)
		args = append(args, w)
		if !ok {
			break
		}
		rest = r
	}
	n.Args = args
}

func (p *parser) argsJSONOrList(rest string, n *Node) error {
	ok, err := p.parseJSON(rest, n)
	if ok || err != nil {
		return err
	}
	p.argsBlankList(rest, n)
	return nil
}

func (p *parser) argsJSONOrString(rest string, n *Node) error {
	if rest == "" {
		return nil
	}
	ok, err := p.parseJSON(rest, n)
	if ok || err != nil {
		return err
	}
	n.Args = append(p.strs.take(1), rest)
	return nil
}

// argsHealthcheck splits off the first word (CMD, NONE, ...) and parses
// the rest like CMD.
func (p *parser) argsHealthcheck(rest string, n *Node) error {
	sep := 0
	for sep < len(rest) && !isByteSpace(rest[sep]) {
		sep++
	}
	if sep == 0 {
		return nil
	}
	next := sep
	for next < len(rest) && isByteSpace(rest[next]) {
		next++
	}
	typ := rest[:sep]
	if err := p.argsJSONOrString(rest[next:], n); err != nil {
		n.Args, n.JSON = nil, false
		return err
	}
	args := append(p.strs.take(1+len(n.Args)), typ)
	n.Args = append(args, n.Args...)
	return nil
}

// argsNameValue parses ENV and LABEL: "k=v k2=v2" gives k, v, "=" triples;
// the legacy "k v" form gives k, v, "".
func (p *parser) argsNameValue(rest string, n *Node, key string) error {
	words := p.parseWords(rest, p.scratch[:0])
	p.scratch = words[:0]
	if len(words) == 0 {
		return nil
	}
	if !strings.Contains(words[0], "=") {
		k, v, ok := splitBlank(rest)
		if !ok {
			return fmt.Errorf("%s must have two arguments", key)
		}
		n.Args = append(p.strs.take(3), k, v, "")
		return nil
	}
	args := p.strs.take(3 * len(words))
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return fmt.Errorf("Syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		args = append(args, k, v, "=")
	}
	n.Args = args
	return nil
}

// parseWords splits rest into words at Unicode white space outside quotes,
// keeping quotes and escapes as written.
func (p *parser) parseWords(rest string, words []string) []string {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	phase := inSpaces
	var quote rune
	blankOK := false
	start := 0
	esc := rune(p.esc)
	for pos := 0; pos < len(rest); {
		ch, w := rune(rest[pos]), 1
		if ch >= utf8.RuneSelf {
			ch, w = utf8.DecodeRuneInString(rest[pos:])
		}
		switch phase {
		case inSpaces:
			if unicode.IsSpace(ch) {
				pos += w
				continue
			}
			phase, start = inWord, pos
			fallthrough
		case inWord:
			if unicode.IsSpace(ch) {
				if blankOK || pos > start {
					words = append(words, validUTF8Runes(rest[start:pos]))
				}
				phase, blankOK = inSpaces, false
				pos += w
				continue
			}
			if ch == '\'' || ch == '"' {
				quote, blankOK, phase = ch, true, inQuote
			}
			if ch == esc {
				if pos+w == len(rest) {
					return p.endWord(words, rest[start:pos], blankOK)
				}
				pos += w
				_, w = utf8.DecodeRuneInString(rest[pos:])
			}
			pos += w
		case inQuote:
			if ch == quote {
				phase = inWord
			}
			if ch == esc && quote != '\'' {
				if pos+w == len(rest) {
					return p.endWord(words, rest[start:pos], blankOK)
				}
				pos += w
				_, w = utf8.DecodeRuneInString(rest[pos:])
			}
			pos += w
		}
	}
	if phase != inSpaces && (blankOK || len(rest) > start) {
		words = append(words, validUTF8Runes(rest[start:]))
	}
	return words
}

func (p *parser) endWord(words []string, w string, blankOK bool) []string {
	if blankOK || len(w) > 0 {
		words = append(words, validUTF8Runes(w))
	}
	return words
}
