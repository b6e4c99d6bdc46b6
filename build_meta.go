package berth

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/berthlabs/berth/dockerfile"
)

// meta applies an instruction that changes only the image config, and
// records it in the history.
func (b *builder) meta(s *stageState, ins dockerfile.Instruction) error {
	rc := &s.config.Config
	var createdBy string
	switch c := ins.(type) {
	case *dockerfile.Env:
		createdBy = "ENV " + b.setVars(&rc.Env, c.Vars)
	case *dockerfile.Label:
		if rc.Labels == nil {
			rc.Labels = map[string]string{}
		}
		var words []string
		for _, kv := range c.Labels {
			rc.Labels[kv.Key] = kv.Value
			words = append(words, kv.Key+"="+kv.Value)
		}
		createdBy = "LABEL " + strings.Join(words, " ")
	case *dockerfile.Arg:
		// ARG values reach RUN's environment, not the image; the
		// history records the declaration, as the classic builder and
		// buildah do.
		var words []string
		for _, a := range c.Args {
			w := a.Name
			if a.Default != nil {
				w += "=" + *a.Default
			}
			words = append(words, w)
		}
		createdBy = "ARG " + strings.Join(words, " ")
	case *dockerfile.Expose:
		ports, err := exposedPorts(c)
		if err != nil {
			return err
		}
		if rc.ExposedPorts == nil {
			rc.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			rc.ExposedPorts[p] = struct{}{}
		}
		createdBy = "EXPOSE " + strings.Join(ports, " ")
	case *dockerfile.Volume:
		if rc.Volumes == nil {
			rc.Volumes = map[string]struct{}{}
		}
		for _, p := range c.Paths {
			if p = strings.TrimSpace(p); p == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			rc.Volumes[p] = struct{}{}
		}
		createdBy = "VOLUME " + jsonWords(c.Paths)
	case *dockerfile.User:
		rc.User = c.User
		createdBy = "USER " + c.User
	case *dockerfile.Workdir:
		rc.WorkingDir = workdirPath(rc.WorkingDir, c.Path)
		createdBy = "WORKDIR " + rc.WorkingDir
	case *dockerfile.Cmd:
		rc.Cmd = commandArgs(c.CommandLine, s.shell())
		s.cmdSet = true
		createdBy = "CMD " + jsonWords(rc.Cmd)
	case *dockerfile.Entrypoint:
		rc.Entrypoint = commandArgs(c.CommandLine, s.shell())
		if !s.cmdSet {
			rc.Cmd = nil // an ENTRYPOINT resets the base image's CMD
		}
		createdBy = "ENTRYPOINT " + jsonWords(rc.Entrypoint)
	case *dockerfile.Shell:
		rc.Shell = slices.Clone(c.Shell)
		createdBy = "SHELL " + jsonWords(rc.Shell)
	case *dockerfile.StopSignal:
		rc.StopSignal = c.Signal
		createdBy = "STOPSIGNAL " + c.Signal
	case *dockerfile.Healthcheck:
		rc.Healthcheck = healthcheck(c)
		createdBy = "HEALTHCHECK " + jsonWords(rc.Healthcheck.Test)
	case *dockerfile.Onbuild:
		rc.OnBuild = append(rc.OnBuild, c.Expression)
		createdBy = "ONBUILD " + c.Expression
	case *dockerfile.Maintainer:
		s.config.Author = c.Name
		createdBy = "MAINTAINER " + c.Name
	default:
		return fmt.Errorf("instruction %s is not supported here", ins.Keyword())
	}
	s.addHistory(createdBy, false, b.epoch)
	return nil
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
