package dockerfile

import (
	"fmt"
	"maps"
	"strings"
)

// Scope holds the variables in effect at a point of a stage and expands
// instructions with them, following BuildKit's rules:
//
//   - ENV, LABEL, ADD, COPY (sources, destination, --chown, --chmod,
//     ADD --checksum, unquoted heredoc bodies), WORKDIR, USER, VOLUME,
//     STOPSIGNAL, EXPOSE and RUN --mount values are expanded; RUN, CMD,
//     ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are not (the shell
//     expands them at run time), nor COPY --from.
//   - An ARG takes, in order: the build argument of that name, its own
//     default (expanded), or, with neither, the global ARG of that name.
//     Global ARGs are visible in a stage only once redeclared.
//   - ENV and ARG assign in order: a later one replaces an earlier one.
//     ENV values also end up in the image; ARG values do not.
//
// A Scope is not safe for concurrent use.
type Scope struct {
	vars   Vars
	global Vars
	args   map[string]string
	lexer  Lexer
}

// NewScope returns the scope at the start of a stage whose base is an
// image: no variables yet. global holds the global ARGs (see
// [Plan.Global]), buildArgs the --build-arg values, escape the file's
// escape character (0 for '\').
func NewScope(global Vars, buildArgs map[string]string, escape byte) *Scope {
	return &Scope{vars: Vars{}, global: global, args: buildArgs, lexer: Lexer{Escape: escape}}
}

// Clone returns an independent copy of s, for a stage built on the stage
// s belongs to.
func (s *Scope) Clone() *Scope {
	c := *s
	c.vars = maps.Clone(s.vars)
	return &c
}

// Lookup returns a variable's value in the scope.
func (s *Scope) Lookup(name string) (string, bool) {
	v, ok := s.vars[name]
	return v, ok
}

// Vars returns a copy of the variables in effect.
func (s *Scope) Vars() Vars { return maps.Clone(s.vars) }

// Expand expands one word with the scope's variables.
func (s *Scope) Expand(word string) (string, error) {
	return s.lexer.Expand(word, s.vars)
}

// Apply expands ins with the variables in effect before it and records
// what it assigns (ARG, ENV). It returns an expanded copy of ins; ins is
// not changed. Instructions that do not expand are returned as they are.
// An error is a *ParseError locating ins.
func (s *Scope) Apply(ins Instruction) (Instruction, error) {
	out, err := s.apply(ins)
	if err != nil {
		return nil, nodeErr(ins.Node(), err)
	}
	return out, nil
}

func (s *Scope) apply(ins Instruction) (Instruction, error) {
	switch c := ins.(type) {
	case *Arg:
		return c, s.arg(c)
	case *Env:
		e := *c
		kvs, err := s.keyValues(c.Vars)
		for _, kv := range kvs {
			s.vars[kv.Key] = kv.Value
		}
		e.Vars = kvs
		return &e, err
	case *Label:
		l := *c
		var err error
		l.Labels, err = s.keyValues(c.Labels)
		return &l, err
	case *Add:
		a := *c
		return &a, s.fileCopy(&a.FileCopy, &a.Checksum)
	case *Copy:
		cp := *c
		return &cp, s.fileCopy(&cp.FileCopy, nil)
	case *Workdir:
		w := *c
		return &w, s.words(&w.Path)
	case *User:
		u := *c
		return &u, s.words(&u.User)
	case *StopSignal:
		st := *c
		return &st, s.words(&st.Signal)
	case *Volume:
		v := *c
		v.Paths = append([]string(nil), c.Paths...)
		return &v, s.words(sliceRefs(v.Paths)...)
	case *Expose:
		return s.expose(c)
	case *Run:
		return s.run(c)
	}
	return ins, nil
}

func sliceRefs(s []string) []*string {
	out := make([]*string, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

// words expands each string in place.
func (s *Scope) words(ws ...*string) error {
	for _, w := range ws {
		v, err := s.Expand(*w)
		if err != nil {
			return err
		}
		*w = v
	}
	return nil
}

func (s *Scope) keyValues(in []KeyValue) ([]KeyValue, error) {
	out := make([]KeyValue, len(in))
	for i, kv := range in {
		k, err := s.Expand(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := s.Expand(kv.Value)
		if err != nil {
			return nil, err
		}
		out[i] = KeyValue{Key: k, Value: v, Legacy: kv.Legacy}
	}
	return out, nil
}

func (s *Scope) arg(a *Arg) error {
	for _, d := range a.Args {
		if v, ok := s.args[d.Name]; ok {
			s.vars[d.Name] = v
			continue
		}
		if d.Default != nil {
			v, err := s.Expand(*d.Default)
			if err != nil {
				return err
			}
			s.vars[d.Name] = v
			continue
		}
		if v, ok := s.global[d.Name]; ok {
			s.vars[d.Name] = v
		}
	}
	return nil
}

func (s *Scope) fileCopy(fc *FileCopy, checksum *string) error {
	fc.Sources = append([]string(nil), fc.Sources...)
	refs := append(sliceRefs(fc.Sources), &fc.Dest, &fc.Chown, &fc.Chmod)
	if checksum != nil {
		refs = append(refs, checksum)
	}
	if err := s.words(refs...); err != nil {
		return err
	}
	fc.Contents = append([]Content(nil), fc.Contents...)
	raw := Lexer{NoQuotes: true}
	for i := range fc.Contents {
		if !fc.Contents[i].Expand {
			continue
		}
		v, err := raw.Expand(fc.Contents[i].Data, s.vars)
		if err != nil {
			return err
		}
		fc.Contents[i].Data = v
	}
	if fc.Chmod != "" {
		return checkChmod(fc.Chmod)
	}
	return nil
}

func (s *Scope) expose(c *Expose) (Instruction, error) {
	e := *c
	e.Ports = nil
	for _, p := range c.Ports {
		ws, err := s.lexer.ExpandWords(p, s.vars)
		if err != nil {
			return nil, err
		}
		e.Ports = append(e.Ports, ws...)
	}
	if _, err := e.PortSpecs(); err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *Scope) run(c *Run) (Instruction, error) {
	r := *c
	r.Mounts = make([]*Mount, len(c.Mounts))
	for i, m := range c.Mounts {
		fields, err := csvFields(m.Raw)
		if err != nil {
			return nil, fmt.Errorf("failed to parse csv mounts: %w", err)
		}
		for j, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			if v, err = s.Expand(v); err != nil {
				return nil, err
			}
			fields[j] = k + "=" + v
		}
		pm, err := parseMountFields(m.Raw, fields)
		if err != nil {
			return nil, err
		}
		r.Mounts[i] = pm
	}
	return &r, nil
}

// Walk expands the instructions of the planned stages in build order,
// calling fn with each stage and each expanded instruction. A stage built
// on another stage starts with the variables that stage ended with.
func (p *Plan) Walk(fn func(st *Stage, ins Instruction) error) error {
	final := map[int]*Scope{}
	for _, st := range p.Order {
		var sc *Scope
		for _, d := range p.Deps[st.Index] {
			if d.Via == Instruction(st.From) {
				sc = final[d.Stage].Clone()
			}
		}
		if sc == nil {
			sc = NewScope(p.Global, p.opts.Args, p.File.Syntax.Escape)
		}
		for _, ins := range st.Instructions {
			out, err := sc.Apply(ins)
			if err != nil {
				return err
			}
			if err := fn(st, out); err != nil {
				return err
			}
		}
		final[st.Index] = sc
	}
	return nil
}
