package dockerfile

import (
	"strconv"
	"strings"
)

// Dump prints the parse tree the way BuildKit's parser test results print
// it: one line per instruction, "(keyword [flags] args...)", the keyword
// lower-cased, flags as a Go-quoted list and each argument Go-quoted, for
// example `(copy ["--from=x"] "a" "b")`. Here-document bodies, line numbers
// and comments are not printed. The result has no trailing newline.
func (s *Syntax) Dump() string {
	var b strings.Builder
	for _, n := range s.Nodes {
		b.WriteByte('(')
		b.WriteString(n.Dump())
		b.WriteString(")\n")
	}
	return strings.TrimSpace(b.String())
}

// Dump prints one instruction as [Syntax.Dump] does, without the
// surrounding parentheses.
func (n *Node) Dump() string {
	var b strings.Builder
	n.dump(&b)
	return strings.TrimSpace(b.String())
}

func (n *Node) dump(b *strings.Builder) {
	b.WriteString(strings.ToLower(n.Keyword))
	if len(n.Flags) > 0 {
		b.WriteString(" [")
		for i, f := range n.Flags {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Quote(f))
		}
		b.WriteByte(']')
	}
	if n.Sub != nil {
		b.WriteString(" (")
		b.WriteString(n.Sub.Dump())
		b.WriteByte(')')
		return
	}
	for _, a := range n.Args {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(a))
	}
}
