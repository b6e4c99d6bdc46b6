package dockerfile

import (
	"fmt"
	"strconv"
	"strings"
)

func (b *builder) add(n *Node, bs base) (Instruction, error) {
	if len(n.Args) < 2 {
		return nil, errNoDest("ADD")
	}
	fv, err := parseFlags(n.Flags,
		flagSpec{"chown", flagString}, flagSpec{"chmod", flagString}, flagSpec{"link", flagBool},
		flagSpec{"keep-git-dir", flagBool}, flagSpec{"checksum", flagString},
		flagSpec{"unpack", flagBool}, flagSpec{"exclude", flagStrings})
	if err != nil {
		return nil, err
	}
	fc, err := fileCopy(n, fv, "ADD")
	if err != nil {
		return nil, err
	}
	return &Add{
		base:       bs,
		FileCopy:   fc,
		KeepGitDir: fv.optBool("keep-git-dir"),
		Checksum:   fv.str("checksum"),
		Unpack:     fv.optBool("unpack"),
	}, nil
}

func (b *builder) copy(n *Node, bs base) (Instruction, error) {
	if len(n.Args) < 2 {
		return nil, errNoDest("COPY")
	}
	fv, err := parseFlags(n.Flags,
		flagSpec{"chown", flagString}, flagSpec{"from", flagString}, flagSpec{"chmod", flagString},
		flagSpec{"link", flagBool}, flagSpec{"exclude", flagStrings}, flagSpec{"parents", flagBool})
	if err != nil {
		return nil, err
	}
	fc, err := fileCopy(n, fv, "COPY")
	if err != nil {
		return nil, err
	}
	return &Copy{base: bs, FileCopy: fc, From: fv.str("from"), Parents: fv.boolean("parents")}, nil
}

// fileCopy splits the arguments of ADD/COPY into sources, inline contents
// and destination, and checks --chown and --chmod.
func fileCopy(n *Node, fv *flagValues, kw string) (FileCopy, error) {
	srcs, dest := n.Args[:len(n.Args)-1], n.Args[len(n.Args)-1]
	if h, _ := ParseHeredoc(dest); h != nil {
		return FileCopy{}, fmt.Errorf("%s cannot accept a heredoc as a destination", kw)
	}
	fc := FileCopy{
		Dest:    dest,
		Chown:   fv.str("chown"),
		Chmod:   fv.str("chmod"),
		Link:    fv.boolean("link"),
		Exclude: fv.strs("exclude"),
	}
	for _, s := range srcs {
		h, _ := ParseHeredoc(s)
		if h == nil {
			fc.Sources = append(fc.Sources, s)
			continue
		}
		var body Heredoc
		for _, d := range n.Heredocs {
			if d.Name == h.Name {
				body = d
			}
		}
		data := body.Content
		if h.Chomp {
			data = chompTabs(data)
		}
		fc.Contents = append(fc.Contents, Content{Path: h.Name, Data: data, Expand: h.Expand})
	}
	if fv.isSet("chown") && fc.Chown == "" {
		return FileCopy{}, fmt.Errorf("invalid --chown: empty value")
	}
	if fc.Chmod != "" && !strings.Contains(fc.Chmod, "$") {
		if err := checkChmod(fc.Chmod); err != nil {
			return FileCopy{}, err
		}
	}
	return fc, nil
}

// checkChmod accepts an octal mode (at most 07777) or a symbolic mode
// such as "u+x,go-w" or "a=rX".
func checkChmod(s string) error {
	if v, err := strconv.ParseUint(s, 8, 32); err == nil {
		if v > 0o7777 {
			return fmt.Errorf("invalid chmod parameter %s: mode out of range", s)
		}
		return nil
	}
	for _, clause := range strings.Split(s, ",") {
		i := 0
		for i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0 {
			i++
		}
		if i == len(clause) {
			return fmt.Errorf("invalid chmod parameter %s", s)
		}
		for i < len(clause) {
			if strings.IndexByte("+-=", clause[i]) < 0 {
				return fmt.Errorf("invalid chmod parameter %s", s)
			}
			i++
			for i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0 {
				i++
			}
		}
	}
	return nil
}

func (b *builder) onbuild(n *Node, bs base) (Instruction, error) {
	if n.Sub == nil {
		return nil, errAtLeastOne("ONBUILD")
	}
	if err := noFlags(n); err != nil {
		return nil, err
	}
	switch trig := strings.ToUpper(strings.TrimSpace(n.Sub.Keyword)); trig {
	case "ONBUILD":
		return nil, fmt.Errorf("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "MAINTAINER", "FROM":
		return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger", trig)
	}
	o := &Onbuild{base: bs, Expression: onbuildExpression(n)}
	sub := *n.Sub
	sub.Heredocs = n.Heredocs
	sub.Source = o.Expression
	t, err := b.instruction(&sub)
	if err != nil {
		b.warn(n, "InvalidOnbuildTrigger", "onbuild", "ONBUILD trigger will fail in a child build: %v", err)
		return o, nil
	}
	o.Trigger = t
	return o, nil
}

// onbuildExpression is the trigger's text: the logical line without the
// ONBUILD keyword, followed by any heredoc bodies and terminators.
func onbuildExpression(n *Node) string {
	s := trimLeftSpace(n.Line)
	if len(s) >= 7 && strings.EqualFold(s[:7], "onbuild") {
		s = trimLeftSpace(s[7:])
	}
	if len(n.Heredocs) == 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s)
	for _, h := range n.Heredocs {
		b.WriteByte('\n')
		b.WriteString(h.Content)
		b.WriteString(h.Name)
	}
	return b.String()
}
