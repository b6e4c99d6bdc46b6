package berth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/dockerfile"
)

// runSpec is a RUN instruction with everything it runs with.
type runSpec struct {
	args    []string
	env     []string
	user    string
	dir     string
	network string
	mounts  []*dockerfile.Mount
	// script is a heredoc with a #! line, run as a file.
	script []byte
}

// run runs a RUN instruction, or finds its result in the cache.
func (b *builder) run(ctx context.Context, s *stageState, r *dockerfile.Run, ev BuildEvent) (bool, error) {
	spec, err := b.runSpec(s, r)
	if err != nil {
		return false, err
	}
	key, err := b.runKey(ctx, s, spec)
	if err != nil {
		return false, err
	}
	e, hit, err := b.cacheLookup(ctx, key)
	if err != nil {
		return false, err
	}
	if !hit {
		if e, err = b.runContainer(ctx, s, spec, ev); err != nil {
			return false, err
		}
		if err := b.cacheStore(key, e); err != nil {
			return false, err
		}
	}
	s.addLayer(e.Layer, e.DiffID)
	s.addHistory("RUN "+strings.Join(spec.args, " "), true, b.epoch)
	return hit, nil
}

// runSpec works out the command line, environment and options of a RUN.
func (b *builder) runSpec(s *stageState, r *dockerfile.Run) (*runSpec, error) {
	if r.Security != "" && r.Security != "sandbox" {
		return nil, fmt.Errorf("RUN --security=%s: %w", r.Security, errors.ErrUnsupported)
	}
	if len(r.Devices) > 0 {
		return nil, fmt.Errorf("RUN --device: %w", errors.ErrUnsupported)
	}
	switch r.Network {
	case "", "default", "none", "host":
	default:
		return nil, fmt.Errorf("RUN --network=%s: unknown network mode (none, host, default)", r.Network)
	}
	for _, m := range r.Mounts {
		switch m.Type {
		case dockerfile.MountBind, dockerfile.MountCache, dockerfile.MountTmpfs:
		default:
			return nil, fmt.Errorf("RUN --mount=type=%s: %w", m.Type, errors.ErrUnsupported)
		}
	}
	rc := s.config.Config
	spec := &runSpec{env: runEnv(rc.Env, s.scope.Vars()), user: rc.User, dir: rc.WorkingDir,
		network: r.Network, mounts: r.Mounts}
	if spec.dir == "" {
		spec.dir = "/"
	}
	spec.args, spec.script = runArgs(r, s.shell())
	return spec, nil
}

// runArgs returns the argv of a RUN. A shell-form command that is just
// one here-document runs its body: as a script file when it starts with
// "#!", else with the shell; other here-documents are handed to the shell
// with the command line, which reads them itself.
func runArgs(r *dockerfile.Run, shell []string) ([]string, []byte) {
	if !r.Shell {
		return slices.Clone(r.Args), nil
	}
	cmd := strings.Join(r.Args, " ")
	if len(r.Heredocs) == 0 {
		return append(slices.Clone(shell), cmd), nil
	}
	if h, _ := dockerfile.ParseHeredoc(strings.TrimSpace(cmd)); h != nil && len(r.Heredocs) == 1 {
		body := r.Heredocs[0].Body()
		if strings.HasPrefix(body, "#!") {
			return []string{runScriptPath}, []byte(body)
		}
		return append(slices.Clone(shell), body), nil
	}
	var sb strings.Builder
	sb.WriteString(cmd)
	sb.WriteByte('\n')
	for _, h := range r.Heredocs {
		sb.WriteString(h.Content)
		sb.WriteString(h.Name)
		sb.WriteByte('\n')
	}
	return append(slices.Clone(shell), sb.String()), nil
}

// runScriptPath is where a #! heredoc script is mounted for its RUN: in
// the /dev tmpfs, so that it never lands in the image.
const runScriptPath = "/dev/berth-run-script"

// runEnv is the environment of a RUN: the image's, then the ARG values
// in scope that ENV does not set, sorted by name.
func runEnv(env []string, vars dockerfile.Vars) []string {
	out := slices.Clone(env)
	have := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		have[k] = true
	}
	var extra []string
	for k, v := range vars {
		if !have[k] {
			extra = append(extra, k+"="+v)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

// runKey is the cache key of a RUN: the parent layers, argv, environment,
// user, working directory, network and mounts (a bind mount's content
// digests or its stage's chain ID; a cache or tmpfs mount's settings).
func (b *builder) runKey(ctx context.Context, s *stageState, spec *runSpec) (digest.Digest, error) {
	k := b.newStepKey("RUN", s.chain())
	k.addList(spec.args)
	k.addList(spec.env)
	k.add(spec.user, spec.dir, spec.network, string(spec.script))
	k.add(strconv.Itoa(len(spec.mounts)))
	for _, m := range spec.mounts {
		k.add(string(m.Type), path.Clean(m.Target), strconv.FormatBool(m.ReadOnly), m.From, m.Source,
			m.ID, m.Sharing, strconv.FormatInt(m.SizeLimit, 10), fmtOpt(m.Mode), fmtOpt(m.UID), fmtOpt(m.GID))
		if m.Type != dockerfile.MountBind {
			continue
		}
		d, err := b.bindDigest(ctx, m)
		if err != nil {
			return "", fmt.Errorf("RUN --mount=%s: %w", m.Raw, err)
		}
		k.add(d)
	}
	return k.digest(), nil
}

func fmtOpt(v *uint64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatUint(*v, 10)
}

// outputLog collects a RUN's output: each line becomes a progress event,
// and the last lines are kept for the error of a failed command.
type outputLog struct {
	mu    sync.Mutex
	b     *builder
	ev    BuildEvent
	lines []string
}

const outputKeep = 50

func (o *outputLog) add(stream, line string) {
	o.mu.Lock()
	if len(o.lines) == outputKeep {
		o.lines = o.lines[1:]
	}
	o.lines = append(o.lines, line)
	o.mu.Unlock()
	ev := o.ev
	ev.Kind, ev.Line, ev.Stream = StepOutput, line, stream
	o.b.progress.emit(ev)
}

func (o *outputLog) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.lines) == 0 {
		return ""
	}
	return strings.Join(o.lines, "\n") + "\n"
}

// lineWriter splits what a stream writes into lines for an outputLog.
type lineWriter struct {
	log     *outputLog
	stream  string
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := slices.Index(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) > 64<<10 { // a very long line: pass it on in pieces
				w.log.add(w.stream, string(w.partial))
				w.partial = w.partial[:0]
			}
			break
		}
		w.log.add(w.stream, string(append(w.partial, p[:i]...)))
		w.partial, p = w.partial[:0], p[i+1:]
	}
	return n, nil
}

// flush passes on an unterminated last line.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.log.add(w.stream, string(w.partial))
		w.partial = nil
	}
}

// bindDigest identifies what a RUN bind mount shows: the digests of the
// context files below its source, or the chain ID of its stage or image.
func (b *builder) bindDigest(ctx context.Context, m *dockerfile.Mount) (string, error) {
	if m.From == "" {
		t := sourceTree{root: b.contextDir, ignore: b.ignore, what: "the build context"}
		cs, err := t.load(path.Clean("/" + m.Source))
		if err != nil {
			return "", errors.Join(t.notFound(m.Source), err)
		}
		k := &stepKey{h: sha256.New()}
		for i := range cs.files {
			f := &cs.files[i]
			if f.mode.IsRegular() {
				if f.digest, err = b.hashes.sum(f); err != nil {
					return "", err
				}
			}
			k.add(f.rel, strconv.FormatUint(uint64(f.mode), 8), strconv.FormatInt(f.size, 10), f.link, f.digest)
		}
		return "context:" + k.digest().String(), nil
	}
	_, diffIDs, err := b.fromRef(ctx, m.From)
	if err != nil {
		return "", err
	}
	return "from:" + chainOf(diffIDs), nil
}
