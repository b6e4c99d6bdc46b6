package dockerfile

import (
	"errors"
	"io"
	"strings"
)

// File is a parsed, typed Dockerfile.
type File struct {
	// Syntax is the untyped tree the file was built from.
	Syntax *Syntax
	// Directives are the parser directives (also in Syntax).
	Directives []Directive
	// Args are the global ARG instructions, those before the first FROM.
	Args []*Arg
	// Stages are the build stages in file order; Stages[i].Index == i.
	Stages []*Stage
	// Warnings are the syntax warnings followed by the ones found while
	// typing instructions (deprecated MAINTAINER, legacy ENV form, ...).
	Warnings []Warning
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	// Name is the stage name in lower case ("FROM x AS Build" gives
	// "build"); "" when unnamed.
	Name string
	// Index is the stage's position in the file, from 0.
	Index int
	// Base is FROM's image as written (it may use global ARGs).
	Base string
	// Platform is FROM's --platform as written; "" when absent.
	Platform string
	// From is the stage's FROM instruction.
	From *From
	// Instructions are the instructions after FROM, in order.
	Instructions []Instruction
	// Range spans from FROM to the stage's last instruction.
	Range Range
}

// Parse reads and types a Dockerfile. It fails, with a *ParseError
// locating the problem, on any error BuildKit reports before building:
// syntax errors, unknown instructions and flags, wrong argument counts,
// invalid stage names, instructions before the first FROM, bad durations,
// ports or mounts.
func Parse(r io.Reader) (*File, error) {
	syn, err := ParseSyntax(r)
	if err != nil {
		return nil, err
	}
	return syn.File()
}

// ParseString is Parse on a string.
func ParseString(src string) (*File, error) {
	syn, err := ParseSyntaxString(src)
	if err != nil {
		return nil, err
	}
	return syn.File()
}

// File types the nodes of s into stages and instructions. See [Parse].
func (s *Syntax) File() (*File, error) {
	f := &File{Syntax: s, Directives: s.Directives}
	f.Warnings = append(f.Warnings, s.Warnings...)
	b := builder{esc: s.Escape}
	if b.esc == 0 {
		b.esc = '\\'
	}
	for _, n := range s.Nodes {
		ins, err := b.instruction(n)
		if err != nil {
			return nil, nodeErr(n, err)
		}
		if err := f.add(ins, n); err != nil {
			return nil, err
		}
	}
	f.Warnings = append(f.Warnings, b.warnings...)
	f.Warnings = append(f.Warnings, f.stageWarnings()...)
	return f, nil
}

func (f *File) add(ins Instruction, n *Node) error {
	if from, ok := ins.(*From); ok {
		f.Stages = append(f.Stages, &Stage{
			Name:     from.Name,
			Index:    len(f.Stages),
			Base:     from.Image,
			Platform: from.Platform,
			From:     from,
			Range:    n.Range,
		})
		return nil
	}
	if len(f.Stages) == 0 {
		if a, ok := ins.(*Arg); ok {
			f.Args = append(f.Args, a)
			return nil
		}
		return nodeErr(n, errors.New("no build stage in current context"))
	}
	st := f.Stages[len(f.Stages)-1]
	st.Instructions = append(st.Instructions, ins)
	st.Range.End = n.Range.End
	return nil
}

// nodeErr turns err into a *ParseError covering n.
func nodeErr(n *Node, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	pe = &ParseError{Range: n.Range, Msg: err.Error(), Err: err}
	var se *suggestError
	if errors.As(err, &se) {
		pe.Suggestion = se.match
	}
	return pe
}

// Stage returns the stage with the given name (compared in lower case),
// or nil.
func (f *File) Stage(name string) *Stage {
	name = lowerASCII(name)
	for _, s := range f.Stages {
		if s.Name != "" && s.Name == name {
			return s
		}
	}
	return nil
}

func (f *File) stageWarnings() []Warning {
	var ws []Warning
	seen := map[string]bool{}
	for _, s := range f.Stages {
		if s.Name == "" {
			continue
		}
		if s.Name == "context" || s.Name == "scratch" {
			ws = append(ws, newWarning("ReservedStageName", "reserved-stage-name", s.From.Range(),
				"Stage name should not use the same name as reserved stage %q", s.Name))
		}
		if seen[s.Name] {
			ws = append(ws, newWarning("DuplicateStageName", "duplicate-stage-name", s.From.Range(),
				"Duplicate stage name %q, stage names should be unique", s.Name))
		}
		seen[s.Name] = true
	}
	return ws
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// Dump prints the file's parse tree in BuildKit's format (see
// [Syntax.Dump]).
func (f *File) Dump() string { return f.Syntax.Dump() }
