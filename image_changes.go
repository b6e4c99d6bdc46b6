package berth

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/dockerfile"
)

// changeApplier applies "docker import --change" instructions to a
// config, remembering whether CMD was set (ENTRYPOINT clears an
// inherited CMD, as in a Dockerfile).
type changeApplier struct {
	cfg    *ocispec.ImageConfig
	cmdSet bool
}

// applyChanges applies Dockerfile instructions to cfg, in order.
func applyChanges(cfg *ocispec.ImageConfig, changes []string) error {
	a := &changeApplier{cfg: cfg}
	for _, ch := range changes {
		if err := a.apply(ch); err != nil {
			return fmt.Errorf("applying change %q: %w", ch, err)
		}
	}
	return nil
}

func (a *changeApplier) apply(change string) error {
	f, err := dockerfile.ParseString("FROM scratch\n" + change + "\n")
	if err != nil {
		return err
	}
	if len(f.Stages) != 1 || len(f.Stages[0].Instructions) != 1 {
		return fmt.Errorf("a change is exactly one instruction: %w", fs.ErrInvalid)
	}
	switch ins := f.Stages[0].Instructions[0].(type) {
	case *dockerfile.Cmd:
		a.cfg.Cmd, a.cmdSet = commandLine(ins.CommandLine), true
	case *dockerfile.Entrypoint:
		a.cfg.Entrypoint = commandLine(ins.CommandLine)
		if !a.cmdSet {
			a.cfg.Cmd = nil
		}
	case *dockerfile.Env:
		return a.env(ins.Vars)
	case *dockerfile.Label:
		return a.labels(ins.Labels)
	case *dockerfile.Expose:
		return a.expose(ins)
	case *dockerfile.Volume:
		return a.volumes(ins.Paths)
	case *dockerfile.User:
		return a.expandInto(&a.cfg.User, ins.User)
	case *dockerfile.StopSignal:
		return a.expandInto(&a.cfg.StopSignal, ins.Signal)
	case *dockerfile.Workdir:
		return a.workdir(ins.Path)
	default:
		return fmt.Errorf("%s cannot be changed on import (only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR): %w",
			strings.ToUpper(ins.Keyword()), errors.ErrUnsupported)
	}
	return nil
}

// commandLine is the config form of a command: shell form runs in
// /bin/sh -c.
func commandLine(c dockerfile.CommandLine) []string {
	if c.Shell {
		return []string{"/bin/sh", "-c", strings.Join(c.Args, " ")}
	}
	return append([]string{}, c.Args...)
}

// envVars looks variables up in an Env list (the last setting wins).
type envVars []string

func (e envVars) Lookup(name string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func (a *changeApplier) expand(word string) (string, error) {
	return dockerfile.Expand(word, envVars(a.cfg.Env))
}

func (a *changeApplier) expandInto(dst *string, word string) error {
	v, err := a.expand(word)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

func (a *changeApplier) env(vars []dockerfile.KeyValue) error {
	for _, kv := range vars {
		k, err := a.expand(kv.Key)
		if err != nil {
			return err
		}
		v, err := a.expand(kv.Value)
		if err != nil {
			return err
		}
		a.cfg.Env = setEnvValue(a.cfg.Env, k, v)
	}
	return nil
}

// setEnvValue sets k=v in env, replacing an earlier setting of k in place.
func setEnvValue(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func (a *changeApplier) labels(kvs []dockerfile.KeyValue) error {
	for _, kv := range kvs {
		k, err := a.expand(kv.Key)
		if err != nil {
			return err
		}
		v, err := a.expand(kv.Value)
		if err != nil {
			return err
		}
		if a.cfg.Labels == nil {
			a.cfg.Labels = map[string]string{}
		}
		a.cfg.Labels[k] = v
	}
	return nil
}

func (a *changeApplier) expose(e *dockerfile.Expose) error {
	ports, err := e.PortSpecs()
	if err != nil {
		return err
	}
	if a.cfg.ExposedPorts == nil {
		a.cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		for n := int(p.Start); n <= int(p.End); n++ {
			a.cfg.ExposedPorts[strconv.Itoa(n)+"/"+p.Proto] = struct{}{}
		}
	}
	return nil
}

func (a *changeApplier) volumes(paths []string) error {
	for _, p := range paths {
		v, err := a.expand(p)
		if err != nil {
			return err
		}
		if v == "" {
			return fmt.Errorf("VOLUME with an empty path: %w", fs.ErrInvalid)
		}
		if a.cfg.Volumes == nil {
			a.cfg.Volumes = map[string]struct{}{}
		}
		a.cfg.Volumes[v] = struct{}{}
	}
	return nil
}

func (a *changeApplier) workdir(p string) error {
	v, err := a.expand(p)
	if err != nil {
		return err
	}
	if !path.IsAbs(v) {
		v = path.Join("/", a.cfg.WorkingDir, v)
	}
	a.cfg.WorkingDir = path.Clean(v)
	return nil
}
