package dockerfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

func (b *builder) healthcheck(n *Node, bs base) (Instruction, error) {
	if len(n.Args) == 0 {
		return nil, errAtLeastOne("HEALTHCHECK")
	}
	h := &Healthcheck{base: bs}
	typ := strings.ToUpper(n.Args[0])
	args := n.Args[1:]
	if typ == "NONE" {
		if len(args) != 0 {
			return nil, errors.New("HEALTHCHECK NONE takes no arguments")
		}
		h.None = true
		return h, nil
	}
	fv, err := parseFlags(n.Flags,
		flagSpec{"interval", flagString}, flagSpec{"timeout", flagString},
		flagSpec{"start-period", flagString}, flagSpec{"start-interval", flagString},
		flagSpec{"retries", flagString})
	if err != nil {
		return nil, err
	}
	if typ != "CMD" {
		return nil, fmt.Errorf("Unknown type %q in HEALTHCHECK (try CMD)", typ)
	}
	h.Command = makeCommandLine(args, n.JSON)
	if len(args) == 0 {
		return nil, errors.New("Missing command after HEALTHCHECK CMD")
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"interval", &h.Interval}, {"timeout", &h.Timeout}, {"start-period", &h.StartPeriod}, {"start-interval", &h.StartInterval}} {
		if *d.dst, err = parseInterval(d.name, fv.str(d.name)); err != nil {
			return nil, err
		}
	}
	if v := fv.str("retries"); v != "" {
		r, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, err
		}
		if r < 0 {
			return nil, fmt.Errorf("--retries cannot be negative (%d)", r)
		}
		h.Retries = int(r)
	}
	return h, nil
}

// parseInterval parses a HEALTHCHECK duration flag: empty or zero means
// unset, anything else must be at least 1ms.
func parseInterval(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d != 0 && d < time.Millisecond {
		return 0, fmt.Errorf("Interval %q cannot be less than %s", name, time.Millisecond)
	}
	return d, nil
}

// Test returns the health check as the image config's Test list:
// ["NONE"], ["CMD", args...] for exec form or ["CMD-SHELL", command].
func (h *Healthcheck) Test() []string {
	switch {
	case h.None:
		return []string{"NONE"}
	case h.Command.Shell:
		return append([]string{"CMD-SHELL"}, h.Command.Args...)
	}
	return append([]string{"CMD"}, h.Command.Args...)
}
