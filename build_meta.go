package berth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/berthlabs/berth/dockerfile"
)

// meta applies an instruction that changes only the image config, and
// records it in the history.
func (b *builder) meta(s *stageState, ins dockerfile.Instruction) error {
	createdBy, err := b.metaValues(s, ins)
	if err == nil && createdBy == "" {
		createdBy, err = metaCommand(s, ins)
	}
	if err != nil {
		return err
	}
	s.addHistory(createdBy, false, b.epoch)
	return nil
}

// metaValues applies the instructions that set variables, labels, ports,
// volumes and the like; "" means ins is none of them.
func (b *builder) metaValues(s *stageState, ins dockerfile.Instruction) (string, error) {
	rc := &s.config.Config
	switch c := ins.(type) {
	case *dockerfile.Env:
		return "ENV " + b.setVars(&rc.Env, c.Vars), nil
	case *dockerfile.Label:
		return "LABEL " + setLabels(rc, c.Labels), nil
	case *dockerfile.Arg:
		// ARG values reach RUN's environment, not the image; the
		// history records the declaration, as the classic builder and
		// buildah do.
		return "ARG " + argWords(c.Args), nil
	case *dockerfile.Expose:
		ports, err := exposedPorts(c)
		if err != nil {
			return "", err
		}
		if rc.ExposedPorts == nil {
			rc.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			rc.ExposedPorts[p] = struct{}{}
		}
		return "EXPOSE " + strings.Join(ports, " "), nil
	case *dockerfile.Volume:
		if rc.Volumes == nil {
			rc.Volumes = map[string]struct{}{}
		}
		for _, p := range c.Paths {
			if p = strings.TrimSpace(p); p == "" {
				return "", fmt.Errorf("VOLUME specified can not be an empty string: %w", fs.ErrInvalid)
			}
			rc.Volumes[p] = struct{}{}
		}
		return "VOLUME " + jsonWords(c.Paths), nil
	case *dockerfile.User:
		rc.User = c.User
		return "USER " + c.User, nil
	case *dockerfile.Workdir:
		rc.WorkingDir = workdirPath(rc.WorkingDir, c.Path)
		return "WORKDIR " + rc.WorkingDir, nil
	case *dockerfile.StopSignal:
		rc.StopSignal = c.Signal
		return "STOPSIGNAL " + c.Signal, nil
	case *dockerfile.Maintainer:
		s.config.Author = c.Name
		return "MAINTAINER " + c.Name, nil
	}
	return "", nil
}

// metaCommand applies CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD.
func metaCommand(s *stageState, ins dockerfile.Instruction) (string, error) {
	rc := &s.config.Config
	switch c := ins.(type) {
	case *dockerfile.Cmd:
		rc.Cmd = commandArgs(c.CommandLine, s.shell())
		s.cmdSet = true
		return "CMD " + jsonWords(rc.Cmd), nil
	case *dockerfile.Entrypoint:
		rc.Entrypoint = commandArgs(c.CommandLine, s.shell())
		if !s.cmdSet {
			rc.Cmd = nil // an ENTRYPOINT resets the base image's CMD
		}
		return "ENTRYPOINT " + jsonWords(rc.Entrypoint), nil
	case *dockerfile.Shell:
		rc.Shell = slices.Clone(c.Shell)
		return "SHELL " + jsonWords(rc.Shell), nil
	case *dockerfile.Healthcheck:
		rc.Healthcheck = healthcheck(c)
		return "HEALTHCHECK " + jsonWords(rc.Healthcheck.Test), nil
	case *dockerfile.Onbuild:
		rc.OnBuild = append(rc.OnBuild, c.Expression)
		return "ONBUILD " + c.Expression, nil
	}
	return "", fmt.Errorf("instruction %s is not supported here: %w", ins.Keyword(), errors.ErrUnsupported)
}

// setLabels adds LABEL pairs and returns them as "k=v" words.
func setLabels(rc *runConfig, labels []dockerfile.KeyValue) string {
	if rc.Labels == nil {
		rc.Labels = map[string]string{}
	}
	words := make([]string, 0, len(labels))
	for _, kv := range labels {
		rc.Labels[kv.Key] = kv.Value
		words = append(words, kv.Key+"="+kv.Value)
	}
	return strings.Join(words, " ")
}

// argWords formats ARG declarations as written.
func argWords(args []dockerfile.ArgDef) string {
	words := make([]string, 0, len(args))
	for _, a := range args {
		w := a.Name
		if a.Default != nil {
			w += "=" + *a.Default
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// setVars applies ENV pairs to env and returns them as "k=v" words.
func (b *builder) setVars(env *[]string, vars []dockerfile.KeyValue) string {
	words := make([]string, 0, len(vars))
	for _, kv := range vars {
		*env = setEnv(*env, kv.Key, kv.Value)
		words = append(words, kv.Key+"="+kv.Value)
	}
	return strings.Join(words, " ")
}

// exposedPorts lists the EXPOSE ports as config keys ("80/tcp"), a range
// expanded to each of its ports, as Docker does.
func exposedPorts(e *dockerfile.Expose) ([]string, error) {
	specs, err := e.PortSpecs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range specs {
		for n := int(p.Start); n <= int(p.End); n++ {
			out = append(out, fmt.Sprintf("%d/%s", n, p.Proto))
		}
	}
	return out, nil
}

// workdirPath resolves a WORKDIR against the previous one.
func workdirPath(cur, p string) string {
	if !path.IsAbs(p) {
		if cur == "" {
			cur = "/"
		}
		p = path.Join(cur, p)
	}
	return path.Clean(p)
}

// commandArgs turns CMD/ENTRYPOINT/RUN arguments into an argv: shell
// form runs the command with the stage's shell.
func commandArgs(c dockerfile.CommandLine, shell []string) []string {
	if c.Shell {
		return append(slices.Clone(shell), c.Args...)
	}
	return slices.Clone(c.Args)
}

// healthcheck converts HEALTHCHECK to Docker's config form.
func healthcheck(h *dockerfile.Healthcheck) *healthConfig {
	return &healthConfig{Test: h.Test(), Interval: h.Interval, Timeout: h.Timeout,
		StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
}

// jsonWords formats words as a JSON array.
func jsonWords(words []string) string {
	if words == nil {
		words = []string{}
	}
	out, _ := json.Marshal(words)
	return string(out)
}
