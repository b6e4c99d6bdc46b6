package dockerfile

// Syntax is the untyped parse tree of a Dockerfile: what BuildKit's
// parser.Parse returns, with source ranges and original text kept. It
// accepts some files that [Parse] rejects (unknown instructions, unknown
// flags, a missing FROM); [Syntax.File] applies those checks.
//
// The zero Syntax is an empty file with the default escape character.
type Syntax struct {
	// Directives are the parser directives at the top of the file, in
	// order (syntax, escape, check).
	Directives []Directive
	// Escape is the escape character in effect: '\\' (also when zero) or
	// '`'.
	Escape byte
	// Nodes are the instructions, in file order.
	Nodes []*Node
	// Warnings are the problems found while reading, such as empty
	// continuation lines.
	Warnings []Warning
}

// Directive is a parser directive, "# name=value" at the top of a file.
type Directive struct {
	// Name is the directive's name in lower case: "syntax", "escape" or
	// "check".
	Name string
	// Value is the text after '=', without surrounding blanks.
	Value string
	// Range covers the directive's line.
	Range Range
}

// Node is one instruction as written.
type Node struct {
	// Keyword is the instruction word exactly as written ("RUN", "run").
	Keyword string
	// Flags are the leading --words with quotes and escapes removed, e.g.
	// "--from=build". A bare "--" that ended the flags is not kept.
	Flags []string
	// Args are the instruction's arguments, split by the instruction's own
	// rules (see the package documentation): one shell-form string for
	// RUN/CMD/ENTRYPOINT/SHELL, the array for exec (JSON) form, key, value
	// and separator triples for ENV/LABEL, and so on.
	Args []string
	// JSON reports that the arguments were written in exec (JSON) form.
	JSON bool
	// Heredocs are the here-documents the instruction reads, in order.
	Heredocs []Heredoc
	// Sub is ONBUILD's trigger instruction; nil for every other keyword
	// and for an ONBUILD with nothing after it.
	Sub *Node
	// Line is the logical line the instruction was parsed from: its
	// physical lines joined, without continuation characters, comments
	// and here-document bodies.
	Line string
	// Source is the instruction's original text, from its first byte to
	// the end of its last line (continuation or heredoc terminator), with
	// the line endings as written. For Sub it is empty.
	Source string
	// Comments are the comment lines directly above the instruction,
	// without their '#' and surrounding blanks.
	Comments []string
	// Range locates Source in the file. For Sub it is the range of the
	// ONBUILD instruction.
	Range Range

	kind kind
}

// Heredoc is a here-document: "<<EOF" on an instruction line and the lines
// up to the terminator.
type Heredoc struct {
	// Name is the terminator word with quotes removed.
	Name string
	// FileDescriptor is the number written before "<<" ("3<<EOF"); 0 when
	// none was written.
	FileDescriptor uint
	// Expand is false when the name was quoted ('EOF' or "EOF"): the body
	// is then used as written, without variable expansion.
	Expand bool
	// Chomp is true for "<<-": leading tabs are removed from the body's
	// lines and the terminator may be indented with tabs.
	Chomp bool
	// Content is the body as written, each line with its line ending; the
	// terminator line is not included. Tabs are not yet removed for
	// Chomp (see [Heredoc.Body]).
	Content string
}

// Body returns the content with leading tabs removed from every line when
// Chomp is set, else the content unchanged.
func (h Heredoc) Body() string {
	if !h.Chomp {
		return h.Content
	}
	return chompTabs(h.Content)
}

func chompTabs(s string) string {
	b := make([]byte, 0, len(s))
	atStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if atStart && c == '\t' {
			continue
		}
		atStart = c == '\n'
		b = append(b, c)
	}
	return string(b)
}
