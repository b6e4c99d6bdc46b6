package berth

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/berthlabs/berth/layers"
)

// buildConfig is an image config with the fields Docker and BuildKit
// write besides the OCI ones (Healthcheck, OnBuild, Shell), which the
// Dockerfile's HEALTHCHECK, ONBUILD and SHELL set. JSON picks the outer
// Config over the embedded one.
type buildConfig struct {
	ocispec.Image
	Config runConfig `json:"config,omitempty"`
}

// runConfig is ocispec.ImageConfig plus Docker's extra fields.
type runConfig struct {
	ocispec.ImageConfig
	Healthcheck *healthConfig `json:"Healthcheck,omitempty"`
	OnBuild     []string      `json:"OnBuild,omitempty"`
	Shell       []string      `json:"Shell,omitempty"`
}

// healthConfig is Docker's health check: durations in nanoseconds.
type healthConfig struct {
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// defaultShell is the shell of shell-form commands when no SHELL is set.
var defaultShell = []string{"/bin/sh", "-c"}

// stageState is a stage being built: its config (with history), layers
// and variables.
type stageState struct {
	st      *dockerfile.Stage
	config  buildConfig
	layers  []ocispec.Descriptor
	diffIDs []digest.Digest
	scope   *dockerfile.Scope
	// cmdSet records a CMD in this stage (an ENTRYPOINT then keeps it).
	cmdSet bool
	// step counts the stage's steps done, for progress.
	step int
}

// chain is the snapshot name of the stage's layers so far.
func (s *stageState) chain() string { return chainOf(s.diffIDs) }

// shell returns the SHELL in effect.
func (s *stageState) shell() []string {
	if len(s.config.Config.Shell) > 0 {
		return s.config.Config.Shell
	}
	return defaultShell
}

// name is the stage's name for messages: its AS name or its index.
func (s *stageState) name() string {
	if s.st.Name != "" {
		return s.st.Name
	}
	return fmt.Sprintf("stage-%d", s.st.Index)
}

// clone copies the state for a stage built on this one.
func (s *stageState) clone(st *dockerfile.Stage) *stageState {
	c := &stageState{st: st, config: cloneConfig(s.config), layers: slices.Clone(s.layers),
		diffIDs: slices.Clone(s.diffIDs), scope: s.scope.Clone()}
	return c
}

// cloneConfig deep-copies a config through its maps and slices.
func cloneConfig(c buildConfig) buildConfig {
	out := c
	rc := &out.Config
	rc.Env, rc.Cmd, rc.Entrypoint = slices.Clone(rc.Env), slices.Clone(rc.Cmd), slices.Clone(rc.Entrypoint)
	rc.OnBuild, rc.Shell = slices.Clone(rc.OnBuild), slices.Clone(rc.Shell)
	rc.Labels = cloneMap(rc.Labels)
	rc.ExposedPorts, rc.Volumes = cloneMap(rc.ExposedPorts), cloneMap(rc.Volumes)
	if rc.Healthcheck != nil {
		h := *rc.Healthcheck
		h.Test = slices.Clone(h.Test)
		rc.Healthcheck = &h
	}
	out.History = slices.Clone(out.History)
	out.RootFS.DiffIDs = slices.Clone(out.RootFS.DiffIDs)
	return out
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// scratchConfig is the config a FROM scratch stage starts with: the
// host's platform and, as BuildKit does, the default PATH.
func scratchConfig() buildConfig {
	var c buildConfig
	c.OS, c.Architecture = runtime.GOOS, runtime.GOARCH
	if runtime.GOARCH == "arm" {
		c.Variant = "v7"
	}
	c.Config.Env = []string{"PATH=" + DefaultPath}
	c.RootFS.Type = "layers"
	return c
}

// setEnv sets key in env, replacing it in place or appending it.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// addHistory records one history entry; layer says whether the step
// added a layer.
func (s *stageState) addHistory(createdBy string, layer bool, epoch time.Time) {
	t := epoch
	s.config.History = append(s.config.History, ocispec.History{Created: &t, CreatedBy: createdBy,
		Comment: "berth.build.v0", EmptyLayer: !layer})
}

// addLayer appends a layer made by a step.
func (s *stageState) addLayer(desc ocispec.Descriptor, diffID digest.Digest) {
	s.layers = append(s.layers, desc)
	s.diffIDs = append(s.diffIDs, diffID)
}

// readConfig reads the raw config of img from p, keeping Docker's extra
// fields that [Image.Config] drops.
func readConfig(ctx context.Context, p layers.Provider, img *Image) (buildConfig, error) {
	var c buildConfig
	if err := layers.GetJSON(ctx, p, img.Manifest().Config, &c); err != nil {
		return c, fmt.Errorf("reading config of image %s: %w", img.Digest(), err)
	}
	return c, nil
}
