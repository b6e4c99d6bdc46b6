package dockerfile

import "fmt"

// Position is a point in a Dockerfile. Line is 1-based. Column is the
// 1-based byte offset within the line, counted in the bytes of the input as
// given (a UTF-8 byte order mark on the first line counts as three bytes).
// The zero Position means "unknown".
type Position struct {
	Line   int
	Column int
}

// String formats p as "line:column".
func (p Position) String() string {
	return fmt.Sprintf("%d:%d", p.Line, p.Column)
}

// Range is a span of a Dockerfile. Start is the first byte of the span and
// End is the position just past its last byte, so a one-line instruction
// "RUN x" on line 3 has Start 3:1 and End 3:6. A span never includes the
// line terminator of its last line. The zero Range means "unknown".
type Range struct {
	Start Position
	End   Position
}

// String formats r as "start-end", e.g. "3:1-3:6".
func (r Range) String() string {
	return r.Start.String() + "-" + r.End.String()
}
