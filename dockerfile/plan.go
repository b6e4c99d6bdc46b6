package dockerfile

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// BuildOptions are the inputs of a build that decide which stages run and
// what the variables hold. The zero value builds the last stage for the
// machine's own platform with no build arguments.
type BuildOptions struct {
	// Target is the name of the stage to build; "" means the last stage.
	Target string
	// Args are the build arguments (--build-arg NAME=VALUE). A value
	// given here overrides an ARG default and a predefined platform ARG.
	Args map[string]string
	// Platform is the target platform, "os/arch[/variant]"; "" means
	// BuildPlatform.
	Platform string
	// BuildPlatform is the platform the build runs on; "" means this
	// process's GOOS/GOARCH.
	BuildPlatform string
}

// Dependency is an edge of the stage graph: a stage uses another stage.
type Dependency struct {
	// Stage is the index of the stage used.
	Stage int
	// Via is the instruction that uses it: the stage's FROM, a COPY
	// --from or a RUN --mount from=.
	Via Instruction
}

// Plan is the result of resolving a File for one build: the stage graph,
// the stages the target needs in build order, and the global variables.
type Plan struct {
	// File is the file planned.
	File *File
	// Target is the stage built.
	Target *Stage
	// Order lists the stages Target needs, each after the stages it
	// depends on, Target last. Stages Target does not need are pruned.
	Order []*Stage
	// Deps[i] are the dependencies of File.Stages[i], by stage index.
	Deps [][]Dependency
	// Bases[i] is the FROM image of File.Stages[i] with the global ARGs
	// expanded; Platforms[i] likewise for --platform.
	Bases     []string
	Platforms []string
	// Global holds the global variables: the predefined platform ARGs
	// and the ARGs before the first FROM, after build arguments.
	Global Vars
	opts   BuildOptions
}

// Plan resolves the stage graph for opts: it expands FROM with the global
// ARGs, links stages used by FROM, COPY --from and RUN --mount from=,
// rejects cycles, and orders the stages the target needs. opts may be
// nil.
func (f *File) Plan(opts *BuildOptions) (*Plan, error) {
	if opts == nil {
		opts = &BuildOptions{}
	}
	if len(f.Stages) == 0 {
		return nil, errors.New("dockerfile has no build stage")
	}
	p := &Plan{File: f, opts: *opts}
	var err error
	if p.Global, err = f.globalArgs(opts); err != nil {
		return nil, err
	}
	if err := p.link(); err != nil {
		return nil, err
	}
	if err := p.checkCycles(); err != nil {
		return nil, err
	}
	if p.Target, err = p.target(opts.Target); err != nil {
		return nil, err
	}
	p.order()
	return p, nil
}

// PredefinedArgs returns the platform ARGs BuildKit defines for a build
// (BUILDPLATFORM, BUILDOS, BUILDOSVERSION, BUILDARCH, BUILDVARIANT,
// TARGETPLATFORM, TARGETOS, TARGETOSVERSION, TARGETARCH, TARGETVARIANT
// and TARGETSTAGE). A stage sees them only after declaring them with ARG.
func PredefinedArgs(opts *BuildOptions) Vars {
	if opts == nil {
		opts = &BuildOptions{}
	}
	bp := opts.BuildPlatform
	if bp == "" {
		bp = runtime.GOOS + "/" + runtime.GOARCH
	}
	tp := opts.Platform
	if tp == "" {
		tp = bp
	}
	target := opts.Target
	if target == "" {
		target = "default"
	}
	v := Vars{"TARGETSTAGE": target, "BUILDOSVERSION": "", "TARGETOSVERSION": ""}
	for prefix, plat := range map[string]string{"BUILD": bp, "TARGET": tp} {
		parts := strings.SplitN(plat, "/", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		v[prefix+"PLATFORM"] = plat
		v[prefix+"OS"], v[prefix+"ARCH"], v[prefix+"VARIANT"] = parts[0], parts[1], parts[2]
	}
	for k := range v {
		if a, ok := opts.Args[k]; ok {
			v[k] = a
		}
	}
	return v
}

// globalArgs evaluates the ARGs before the first FROM.
func (f *File) globalArgs(opts *BuildOptions) (Vars, error) {
	g := PredefinedArgs(opts)
	lx := Lexer{Escape: f.Syntax.Escape}
	for _, a := range f.Args {
		for _, d := range a.Args {
			if v, ok := opts.Args[d.Name]; ok {
				g[d.Name] = v
				continue
			}
			if d.Default == nil {
				continue
			}
			v, err := lx.Expand(*d.Default, g)
			if err != nil {
				return nil, nodeErr(a.Node(), err)
			}
			g[d.Name] = v
		}
	}
	return g, nil
}

// link fills Bases, Platforms and Deps.
func (p *Plan) link() error {
	f := p.File
	lx := Lexer{Escape: f.Syntax.Escape}
	n := len(f.Stages)
	p.Bases, p.Platforms, p.Deps = make([]string, n), make([]string, n), make([][]Dependency, n)
	earlier := map[string]int{}
	for i, s := range f.Stages {
		base, err := lx.Expand(s.Base, p.Global)
		if err != nil {
			return nodeErr(s.From.Node(), err)
		}
		if p.Platforms[i], err = lx.Expand(s.Platform, p.Global); err != nil {
			return nodeErr(s.From.Node(), err)
		}
		p.Bases[i] = base
		if j, ok := earlier[base]; ok {
			p.Deps[i] = append(p.Deps[i], Dependency{Stage: j, Via: s.From})
		}
		if s.Name != "" {
			earlier[s.Name] = i
		}
	}
	for i, s := range f.Stages {
		for _, ins := range s.Instructions {
			deps, err := p.instructionDeps(ins)
			if err != nil {
				return nodeErr(ins.Node(), err)
			}
			p.Deps[i] = append(p.Deps[i], deps...)
		}
	}
	return nil
}

// lastNamed returns the index of the last stage named name (lower-cased).
func (p *Plan) lastNamed(name string) (int, bool) {
	name = strings.ToLower(name)
	for i := len(p.File.Stages) - 1; i >= 0; i-- {
		if p.File.Stages[i].Name == name && name != "" {
			return i, true
		}
	}
	return 0, false
}

func (p *Plan) instructionDeps(ins Instruction) ([]Dependency, error) {
	switch c := ins.(type) {
	case *Copy:
		if c.From == "" {
			return nil, nil
		}
		if v, err := Expand(c.From, nil); err != nil || v != c.From {
			return nil, errors.New("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")
		}
		if idx, err := strconv.Atoi(c.From); err == nil {
			if idx < 0 || idx >= len(p.File.Stages) {
				return nil, fmt.Errorf("invalid stage index %d", idx)
			}
			return []Dependency{{Stage: idx, Via: c}}, nil
		}
		if j, ok := p.lastNamed(c.From); ok {
			return []Dependency{{Stage: j, Via: c}}, nil
		}
	case *Run:
		var deps []Dependency
		for _, m := range c.Mounts {
			from := m.From
			if m.Type == "" {
				from = mountFromRaw(m.Raw)
			}
			if j, ok := p.lastNamed(from); ok && from != "" {
				deps = append(deps, Dependency{Stage: j, Via: c})
			}
		}
		return deps, nil
	}
	return nil, nil
}

// mountFromRaw finds from= in a mount flag not parsed yet.
func mountFromRaw(raw string) string {
	fields, _ := csvFields(raw)
	from := ""
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "from") {
			from = v
		}
	}
	return from
}

func (p *Plan) checkCycles() error {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]int, len(p.File.Stages))
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = onPath
		for _, d := range p.Deps[i] {
			if state[d.Stage] == onPath || (state[d.Stage] == unvisited && visit(d.Stage)) {
				return true
			}
		}
		state[i] = done
		return false
	}
	for i, s := range p.File.Stages {
		if state[i] == unvisited && visit(i) {
			name := s.Name
			if name == "" {
				name = "stage-" + strconv.Itoa(i)
			}
			return &ParseError{Range: s.Range, Msg: "circular dependency detected on stage: " + name}
		}
	}
	return nil
}

func (p *Plan) target(name string) (*Stage, error) {
	if name == "" {
		return p.File.Stages[len(p.File.Stages)-1], nil
	}
	if i, ok := p.lastNamed(name); ok {
		return p.File.Stages[i], nil
	}
	var names []string
	for _, s := range p.File.Stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	err := fmt.Errorf("target stage %q could not be found", name)
	if m := suggest(name, names, true); m != "" {
		err = &suggestError{err: err, match: m}
	}
	return nil, err
}

// order lists the stages the target needs, dependencies first.
func (p *Plan) order() {
	seen := make([]bool, len(p.File.Stages))
	var visit func(i int)
	visit = func(i int) {
		seen[i] = true
		deps := make([]int, 0, len(p.Deps[i]))
		for _, d := range p.Deps[i] {
			deps = append(deps, d.Stage)
		}
		slices.Sort(deps)
		for _, j := range deps {
			if !seen[j] {
				visit(j)
			}
		}
		p.Order = append(p.Order, p.File.Stages[i])
	}
	visit(p.Target.Index)
}
