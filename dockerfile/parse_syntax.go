package dockerfile

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"
)

// MaxLineLength is the longest line, in bytes without its line ending,
// that a Dockerfile may have (BuildKit's scanner limit).
const MaxLineLength = 65535

// ParseSyntax reads a Dockerfile into its untyped parse tree, exactly as
// BuildKit's parser reads it. An error reading r is returned wrapped; a
// problem in the file is a *ParseError.
func ParseSyntax(r io.Reader) (*Syntax, error) {
	src, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading dockerfile: %w", err)
	}
	return parseSyntax(src)
}

// ParseSyntaxString is ParseSyntax on a string.
func ParseSyntaxString(src string) (*Syntax, error) {
	return parseSyntax(src)
}

// readAll reads r into one buffer and returns it as a string without a
// second copy. The buffer is never written again.
func readAll(r io.Reader) (string, error) {
	size := 512
	if l, ok := r.(interface{ Len() int }); ok {
		size = l.Len() + 1
	}
	buf := make([]byte, 0, size)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	if len(buf) == 0 {
		return "", nil
	}
	return unsafe.String(&buf[0], len(buf)), nil
}

// parser holds the state of one ParseSyntax call.
type parser struct {
	src     string
	pos     int // offset of the next line
	end     int // where input ends for the scanner (before an over-long line)
	line    int // number of the last line read
	tooLong bool

	esc     byte
	dirDone bool
	dirSeen uint8

	syn      *Syntax
	nodes    []Node
	strs     strArena
	scratch  []string
	buf      []byte
	comments []string
}

// strArena hands out small string slices carved from one larger array.
type strArena struct{ buf []string }

func (a *strArena) take(n int) []string {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]string, 0, max(128, n))
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l:l:(l + n)]
}

func (p *parser) allocNode() *Node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodes = make([]Node, 0, 16)
	}
	p.nodes = p.nodes[:len(p.nodes)+1]
	return &p.nodes[len(p.nodes)-1]
}

// rawLine is one physical line: src[start:end] without its terminator,
// src[start:next] with it.
type rawLine struct {
	start, end, next int
}

func (p *parser) nextLine() (rawLine, bool) {
	if p.pos >= p.end {
		return rawLine{}, false
	}
	start := p.pos
	i := strings.IndexByte(p.src[start:p.end], '\n')
	next := p.end
	if i >= 0 {
		next = start + i + 1
	}
	end := next
	for end > start && (p.src[end-1] == '\n' || p.src[end-1] == '\r') {
		end--
	}
	if end-start > MaxLineLength {
		p.tooLong = true
		p.end = start
		return rawLine{}, false
	}
	p.pos = next
	p.line++
	return rawLine{start: start, end: end, next: next}, true
}

func parseSyntax(src string) (*Syntax, error) {
	nl := strings.Count(src, "\n") + 1
	p := &parser{
		src:   src,
		end:   len(src),
		esc:   '\\',
		syn:   &Syntax{},
		nodes: make([]Node, 0, min(nl, 256)),
	}
	p.syn.Nodes = make([]*Node, 0, min(nl, 256))
	if err := p.run(); err != nil {
		return nil, err
	}
	p.syn.Escape = p.esc
	if len(p.syn.Nodes) == 0 {
		return nil, newParseError(p.lineRange(p.line), "file with no instructions")
	}
	if p.tooLong {
		return nil, &ParseError{
			Range: p.lineRange(p.line + 1),
			Msg:   fmt.Sprintf("dockerfile line greater than max allowed size of %d", MaxLineLength),
		}
	}
	return p.syn, nil
}

func (p *parser) lineRange(line int) Range {
	return Range{Start: Position{Line: line, Column: 1}, End: Position{Line: line, Column: 1}}
}

func (p *parser) run() error {
	for {
		l, ok := p.nextLine()
		if !ok {
			return nil
		}
		if err := p.instruction(l); err != nil {
			return err
		}
	}
}

// instruction handles a line that is not inside another instruction: a
// directive, a comment, a blank line or the first line of an instruction.
func (p *parser) instruction(l rawLine) error {
	if l.start == 0 && strings.HasPrefix(p.src, "\uFEFF") {
		l.start = min(3, l.end)
	}
	raw := p.src[l.start:l.next]
	content := p.src[l.start:l.end]
	comment := isComment(content)
	if comment {
		if c := strings.TrimSpace(raw[1:]); c == "" {
			p.comments = nil
		} else {
			p.comments = append(p.comments, c)
		}
	}
	content = trimLeftSpace(content)
	if !p.dirDone {
		isDir, err := p.directive(content, l)
		if err != nil {
			return err
		}
		if isDir {
			p.comments = p.comments[:len(p.comments)-1]
		}
	}
	if comment {
		return nil
	}
	first, eol := p.trimContinuation(content)
	if eol && len(first) == 0 {
		return nil
	}
	return p.logicalLine(l, content, first, eol)
}

// trimContinuation removes a trailing escape character (and the blanks
// after it) that continues the line. It reports true when the line does
// not continue. Two escape characters in a row do not continue a line.
func (p *parser) trimContinuation(s string) (string, bool) {
	i := len(s)
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	if i == 0 || s[i-1] != p.esc {
		return s, true
	}
	if i == 1 {
		return "", false
	}
	if s[i-2] == p.esc {
		return s, true
	}
	return s[:i-1], false
}

// logicalLine reads the continuation lines of an instruction that starts
// on line l, builds its node and reads its here-documents.
func (p *parser) logicalLine(l rawLine, content, first string, eol bool) error {
	startLine := p.line
	srcStart := l.end - len(content)
	startCol := srcStart - p.lineStart(l) + 1
	last := l
	line := first
	emptyCont := false
	if !eol {
		p.buf = append(p.buf[:0], first...)
		joined := false
		for !eol {
			next, ok := p.nextLine()
			if !ok {
				break
			}
			last = next
			c := p.src[next.start:next.end]
			if isComment(c) {
				continue
			}
			if len(trimLeftSpace(c)) == 0 {
				emptyCont = true
				continue
			}
			c, eol = p.trimContinuation(c)
			p.buf = append(p.buf, c...)
			joined = true
		}
		if joined {
			line = string(p.buf)
		}
	}
	n := p.allocNode()
	n.Range = Range{
		Start: Position{Line: startLine, Column: startCol},
		End:   Position{Line: p.line, Column: last.end - p.lineStart(last) + 1},
	}
	if emptyCont {
		p.syn.Warnings = append(p.syn.Warnings, Warning{
			Rule:  "NoEmptyContinuation",
			Msg:   "Empty continuation line found in: " + line,
			URL:   ruleURL + "no-empty-continuation/",
			Range: Range{Start: Position{Line: p.line, Column: 1}, End: Position{Line: p.line, Column: 1}},
		})
	}
	if err := p.newNode(line, n); err != nil {
		return p.nodeError(n, err)
	}
	if n.canHaveHeredoc() && strings.Contains(line, "<<") {
		end, err := p.readHeredocs(n, line)
		if err != nil {
			return p.nodeError(n, err)
		}
		if end.next != 0 {
			last = end
			n.Range.End = Position{Line: p.line, Column: last.end - p.lineStart(last) + 1}
		}
	}
	n.Source = p.src[srcStart:last.end]
	if len(p.comments) > 0 {
		n.Comments = p.comments
		p.comments = nil
	}
	p.syn.Nodes = append(p.syn.Nodes, n)
	return nil
}

// lineStart is the offset of the first byte of l's line in the file (l.start
// may have skipped a byte order mark).
func (p *parser) lineStart(l rawLine) int {
	if l.start == 3 && strings.HasPrefix(p.src, "\uFEFF") {
		return 0
	}
	return l.start
}

func (p *parser) nodeError(n *Node, err error) error {
	n.Range.End = Position{Line: p.line, Column: n.Range.End.Column}
	var pe *ParseError
	if errors.As(err, &pe) {
		pe.Range = n.Range
		return pe
	}
	return &ParseError{Range: n.Range, Msg: err.Error(), Err: err}
}

func (n *Node) canHaveHeredoc() bool {
	if n.kind == kindOnbuild && n.Sub != nil {
		n = n.Sub
	}
	switch n.kind {
	case kindAdd, kindCopy, kindRun:
		return !n.JSON
	}
	return false
}
