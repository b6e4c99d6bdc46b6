package dockerfile

import (
	"errors"
	"fmt"
	"strings"
)

// builder types nodes into instructions and collects warnings.
type builder struct {
	esc      byte
	warnings []Warning
}

func (b *builder) warn(n *Node, rule, slug, format string, args ...any) {
	b.warnings = append(b.warnings, newWarning(rule, slug, n.Range, format, args...))
}

func (b *builder) instruction(n *Node) (Instruction, error) {
	bs := base{node: n, kind: n.kind}
	switch n.kind {
	case kindFrom:
		return b.from(n, bs)
	case kindRun:
		return b.run(n, bs)
	case kindCmd, kindEntrypoint:
		return b.cmdOrEntrypoint(n, bs)
	case kindEnv, kindLabel:
		return b.keyValues(n, bs)
	case kindMaintainer:
		return b.maintainer(n, bs)
	case kindExpose:
		return b.expose(n, bs)
	case kindAdd:
		return b.add(n, bs)
	case kindCopy:
		return b.copy(n, bs)
	case kindVolume:
		return b.volume(n, bs)
	case kindUser, kindWorkdir, kindStopsignal:
		return b.oneArg(n, bs)
	case kindArg:
		return b.arg(n, bs)
	case kindOnbuild:
		return b.onbuild(n, bs)
	case kindHealthcheck:
		return b.healthcheck(n, bs)
	case kindShell:
		return b.shell(n, bs)
	}
	return nil, unknownInstruction(n.Keyword)
}

func unknownInstruction(kw string) error {
	err := fmt.Errorf("unknown instruction: %s", kw)
	if m := suggest(kw, Keywords(), false); m != "" {
		return &suggestError{err: err, match: m}
	}
	return err
}

func errExactlyOne(kw string) error { return fmt.Errorf("%s requires exactly one argument", kw) }
func errAtLeastOne(kw string) error { return fmt.Errorf("%s requires at least one argument", kw) }
func errNoDest(kw string) error {
	return fmt.Errorf("%s requires at least two arguments, but only one was provided. Destination could not be determined", kw)
}
func errBlankNames(kw string) error   { return fmt.Errorf("%s names can not be blank", kw) }
func noFlags(n *Node) error           { _, err := parseFlags(n.Flags); return err }
func commandLine(n *Node) CommandLine { return makeCommandLine(n.Args, n.JSON) }

func makeCommandLine(args []string, json bool) CommandLine {
	switch {
	case len(args) == 0:
		return CommandLine{Args: []string{}, Shell: !json}
	case json:
		return CommandLine{Args: args}
	}
	return CommandLine{Args: []string{strings.Join(args, " ")}, Shell: true}
}

func (b *builder) from(n *Node, bs base) (Instruction, error) {
	args := n.Args
	name := ""
	switch {
	case len(args) == 3 && strings.EqualFold(args[1], "as"):
		name = strings.ToLower(args[2])
		if !validStageName(name) {
			return nil, fmt.Errorf("invalid name for build stage: %q, name can't start with a number or contain symbols", args[2])
		}
	case len(args) != 1:
		return nil, errors.New("FROM requires either one or three arguments")
	}
	fv, err := parseFlags(n.Flags, flagSpec{"platform", flagString})
	if err != nil {
		return nil, err
	}
	if len(args) == 3 {
		if args[2] != strings.ToLower(args[2]) {
			b.warn(n, "StageNameCasing", "stage-name-casing", "Stage name '%s' should be lowercase", args[2])
		}
		kw := n.Keyword
		if (kw == strings.ToLower(kw) && args[1] != strings.ToLower(args[1])) ||
			(kw == strings.ToUpper(kw) && kw != strings.ToLower(kw) && args[1] != strings.ToUpper(args[1])) {
			b.warn(n, "FromAsCasing", "from-as-casing", "'%s' and '%s' keywords' casing do not match", args[1], kw)
		}
	}
	return &From{base: bs, Image: args[0], Name: name, Platform: fv.str("platform")}, nil
}

// validStageName matches ^[a-z][a-z0-9-_.]*$.
func validStageName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z') && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func (b *builder) run(n *Node, bs base) (Instruction, error) {
	fv, err := parseFlags(n.Flags,
		flagSpec{"mount", flagStrings}, flagSpec{"network", flagString},
		flagSpec{"security", flagString}, flagSpec{"device", flagStrings})
	if err != nil {
		return nil, err
	}
	r := &Run{base: bs, CommandLine: commandLine(n), Heredocs: n.Heredocs, Devices: fv.strs("device")}
	for _, v := range fv.strs("mount") {
		m, err := parseMountFlag(v)
		if err != nil {
			return nil, err
		}
		r.Mounts = append(r.Mounts, m)
	}
	if fv.isSet("network") {
		r.Network = fv.str("network")
		if err := checkNetwork(r.Network); err != nil {
			return nil, err
		}
	}
	if fv.isSet("security") {
		r.Security = fv.str("security")
		if err := checkSecurity(r.Security); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func checkNetwork(v string) error {
	if v != "default" && v != "none" && v != "host" {
		return fmt.Errorf("invalid network mode %q", v)
	}
	return nil
}

func checkSecurity(v string) error {
	if v != "sandbox" && v != "insecure" {
		return fmt.Errorf("security %q is not valid", v)
	}
	return nil
}

// parseMountFlag parses a --mount value now when it has no variables;
// otherwise it checks only what BuildKit checks before expansion and
// leaves the rest to [Scope.Apply].
func parseMountFlag(v string) (*Mount, error) {
	if !strings.Contains(v, "$") {
		return ParseMount(v)
	}
	fields, err := csvFields(v)
	if err != nil {
		return nil, fmt.Errorf("failed to parse csv mounts: %w", err)
	}
	for _, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		if ok && strings.EqualFold(key, "from") {
			if i := strings.IndexByte(val, '$'); i != -1 && i != len(val)-1 {
				return nil, errors.New("'from' doesn't support variable expansion, define alias stage instead")
			}
		}
	}
	return &Mount{Raw: v}, nil
}

func (b *builder) cmdOrEntrypoint(n *Node, bs base) (Instruction, error) {
	if err := noFlags(n); err != nil {
		return nil, err
	}
	cl := commandLine(n)
	if cl.Shell && len(n.Args) > 0 {
		b.warn(n, "JSONArgsRecommended", "json-args-recommended",
			"JSON arguments recommended for %s to prevent unintended behavior related to OS signals", n.Keyword)
	}
	if n.kind == kindCmd {
		return &Cmd{base: bs, CommandLine: cl}, nil
	}
	if len(cl.Args) == 0 {
		cl.Args = nil
	}
	return &Entrypoint{base: bs, CommandLine: cl}, nil
}

func (b *builder) keyValues(n *Node, bs base) (Instruction, error) {
	kw := keywords[n.kind]
	if err := noFlags(n); err != nil {
		return nil, err
	}
	if len(n.Args) == 0 {
		return nil, errAtLeastOne(kw)
	}
	if len(n.Args)%3 != 0 {
		return nil, fmt.Errorf("Bad input to %s, too many arguments", kw)
	}
	kvs := make([]KeyValue, 0, len(n.Args)/3)
	legacy := false
	for i := 0; i < len(n.Args); i += 3 {
		if n.Args[i] == "" {
			return nil, errBlankNames(kw)
		}
		kv := KeyValue{Key: n.Args[i], Value: n.Args[i+1], Legacy: n.Args[i+2] == ""}
		legacy = legacy || kv.Legacy
		kvs = append(kvs, kv)
	}
	if legacy {
		b.warn(n, "LegacyKeyValueFormat", "legacy-key-value-format",
			"\"%s key=value\" should be used instead of legacy \"%s key value\" format", n.Keyword, n.Keyword)
	}
	if n.kind == kindEnv {
		return &Env{base: bs, Vars: kvs}, nil
	}
	return &Label{base: bs, Labels: kvs}, nil
}

func (b *builder) maintainer(n *Node, bs base) (Instruction, error) {
	b.warn(n, "MaintainerDeprecated", "maintainer-deprecated", "Maintainer instruction is deprecated in favor of using label")
	if len(n.Args) != 1 {
		return nil, errExactlyOne("MAINTAINER")
	}
	if err := noFlags(n); err != nil {
		return nil, err
	}
	return &Maintainer{base: bs, Name: n.Args[0]}, nil
}

func (b *builder) expose(n *Node, bs base) (Instruction, error) {
	if len(n.Args) == 0 {
		return nil, errAtLeastOne("EXPOSE")
	}
	if err := noFlags(n); err != nil {
		return nil, err
	}
	e := &Expose{base: bs, Ports: n.Args}
	for _, p := range n.Args {
		if _, proto, _ := strings.Cut(p, "/"); proto != strings.ToLower(proto) {
			b.warn(n, "ExposeProtoCasing", "expose-proto-casing", "Defined protocol '%s' in EXPOSE instruction should be lowercase", p)
		}
		if strings.Contains(p, ":") {
			b.warn(n, "ExposeInvalidFormat", "expose-invalid-format", "EXPOSE instruction should not define an IP address or host-port mapping, found '%s'", p)
		}
		if strings.Contains(p, "$") {
			continue
		}
		if _, err := ParsePort(p); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (b *builder) volume(n *Node, bs base) (Instruction, error) {
	if len(n.Args) == 0 {
		return nil, errAtLeastOne("VOLUME")
	}
	if err := noFlags(n); err != nil {
		return nil, err
	}
	v := &Volume{base: bs, Paths: make([]string, 0, len(n.Args))}
	for _, p := range n.Args {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, errors.New("VOLUME specified can not be an empty string")
		}
		v.Paths = append(v.Paths, p)
	}
	return v, nil
}

func (b *builder) oneArg(n *Node, bs base) (Instruction, error) {
	kw := keywords[n.kind]
	if len(n.Args) != 1 {
		return nil, errExactlyOne(kw)
	}
	switch n.kind {
	case kindUser:
		if err := noFlags(n); err != nil {
			return nil, err
		}
		return &User{base: bs, User: n.Args[0]}, nil
	case kindWorkdir:
		if err := noFlags(n); err != nil {
			return nil, err
		}
		return &Workdir{base: bs, Path: n.Args[0]}, nil
	}
	return &StopSignal{base: bs, Signal: n.Args[0]}, nil
}

func (b *builder) arg(n *Node, bs base) (Instruction, error) {
	if len(n.Args) == 0 {
		return nil, errAtLeastOne("ARG")
	}
	a := &Arg{base: bs, Args: make([]ArgDef, len(n.Args))}
	for i, w := range n.Args {
		k, v, ok := strings.Cut(w, "=")
		if ok && k == "" {
			return nil, errBlankNames("ARG")
		}
		a.Args[i].Name = k
		if ok {
			a.Args[i].Default = &v
		}
	}
	return a, nil
}

func (b *builder) shell(n *Node, bs base) (Instruction, error) {
	if err := noFlags(n); err != nil {
		return nil, err
	}
	switch {
	case len(n.Args) == 0:
		return nil, errAtLeastOne("SHELL")
	case !n.JSON:
		return nil, errors.New("SHELL requires the arguments to be in JSON form")
	}
	return &Shell{base: bs, Shell: n.Args}, nil
}
