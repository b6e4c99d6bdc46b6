package berth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/namespaces"
)

// buildHostname is the hostname RUN commands see.
const buildHostname = "berth-build"

// runContainer runs a RUN in a container on a new snapshot of the
// stage's layers and stores the snapshot's changes as a layer.
func (b *builder) runContainer(ctx context.Context, s *stageState, spec *runSpec, ev BuildEvent) (_ cacheEntry, retErr error) {
	sn := b.opts.Snapshotter
	differ, ok := sn.(buildDiffer)
	if !ok {
		return cacheEntry{}, fmt.Errorf("snapshotter %T cannot diff snapshots: %w", sn, errors.ErrUnsupported)
	}
	parent, err := b.materialize(ctx, s.layers, s.diffIDs)
	if err != nil {
		return cacheEntry{}, err
	}
	key := snapshotKey("run")
	ms, err := sn.Prepare(ctx, key, parent)
	if err != nil {
		return cacheEntry{}, err
	}
	committed := false
	defer func() {
		if !committed {
			retErr = errors.Join(retErr, sn.Remove(context.WithoutCancel(ctx), key))
		}
	}()
	t, err := mountTree(key, ms)
	if err != nil {
		return cacheEntry{}, err
	}
	code, tail, err := b.runIn(ctx, t.dir, spec, ev)
	if err = errors.Join(err, t.release()); err != nil {
		return cacheEntry{}, err
	}
	if code != 0 {
		return cacheEntry{}, &RunError{ExitCode: code, Output: tail}
	}
	e, err := b.diffSnapshot(ctx, differ, key)
	if err != nil {
		return cacheEntry{}, err
	}
	chain := chainOf(append(s.diffIDs[:len(s.diffIDs):len(s.diffIDs)], e.DiffID))
	if err := b.commitSnapshot(ctx, chain, key, e.DiffID); err != nil {
		return cacheEntry{}, err
	}
	committed = true
	return e, nil
}

// diffSnapshot stores the changes of the active snapshot key as a layer,
// its times clamped to the epoch.
func (b *builder) diffSnapshot(ctx context.Context, d buildDiffer, key string) (cacheEntry, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := d.Diff(ctx, key, pw, &layers.DiffOptions{SourceDateEpoch: &b.epoch})
		pw.CloseWithError(err)
	}()
	desc, diffID, err := b.storeLayer(ctx, pr)
	pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
	if err != nil {
		return cacheEntry{}, err
	}
	return cacheEntry{Layer: desc, DiffID: diffID}, nil
}

// runIn runs the command of spec in a container whose root is root, and
// returns its exit code and the end of its output. Mount points it had to
// create in root are removed again, so they do not end up in the layer.
func (b *builder) runIn(ctx context.Context, root string, spec *runSpec, ev BuildEvent) (_ int, _ string, retErr error) {
	if spec.dir != "/" {
		f, err := namespaces.MkdirAllInRoot(root, spec.dir, 0o755)
		if err != nil {
			return 0, "", fmt.Errorf("creating working directory %s: %w", spec.dir, err)
		}
		f.Close()
	}
	mounts, release, err := b.runMounts(ctx, root, spec)
	if err != nil {
		return 0, "", err
	}
	defer func() { retErr = errors.Join(retErr, release()) }()
	targets := []string{"/proc", "/dev", "/sys"}
	for _, m := range mounts {
		if !path.IsAbs(m.Target) || !pathWithin(m.Target, "/dev") {
			targets = append(targets, m.Target)
		}
	}
	created, err := missingPaths(root, targets)
	if err != nil {
		return 0, "", err
	}
	defer func() { retErr = errors.Join(retErr, removeCreated(root, created)) }()
	log := &outputLog{b: b, ev: ev}
	stdout, stderr := &lineWriter{log: log, stream: "stdout"}, &lineWriter{log: log, stream: "stderr"}
	c := &Container{RootFS: root, Args: spec.args, Env: spec.env, Dir: spec.dir, User: spec.user,
		Hostname: buildHostname, Mounts: mounts, Stdout: stdout, Stderr: stderr, StateDir: b.opts.StateDir}
	if spec.network == "host" {
		c.Share = namespaces.Net
	}
	code, err := c.Run(ctx)
	stdout.flush()
	stderr.flush()
	if err != nil {
		return 0, "", fmt.Errorf("running %q: %w", spec.args, err)
	}
	return code, log.tail(), nil
}

// pathWithin reports whether p is dir or below it.
func pathWithin(p, dir string) bool {
	p = path.Clean(p)
	return p == dir || len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/'
}

// createdPath is a mount point that did not exist: target, and top, the
// first of its directories that was missing.
type createdPath struct{ target, top string }

// missingPaths finds which targets do not exist in root.
func missingPaths(root string, targets []string) ([]createdPath, error) {
	var out []createdPath
	for _, t := range targets {
		t = path.Clean("/" + t)
		top := ""
		for p := t; p != "/"; p = path.Dir(p) {
			abs, err := namespaces.SecureJoin(root, p)
			if err != nil {
				return nil, err
			}
			if _, err := os.Lstat(abs); err == nil {
				break
			}
			top = p
		}
		if top != "" {
			out = append(out, createdPath{target: t, top: top})
		}
	}
	return out, nil
}

// removeCreated removes the mount points in created, from the target up
// to the first directory that was missing, stopping at anything the
// command left content in.
func removeCreated(root string, created []createdPath) error {
	for i := len(created) - 1; i >= 0; i-- {
		c := created[i]
		for p := c.target; ; p = path.Dir(p) {
			abs, err := namespaces.SecureJoin(root, p)
			if err != nil {
				return err
			}
			fi, err := os.Lstat(abs)
			if err != nil {
				break // already gone (a nested mount point of the same path)
			}
			if fi.Mode().IsRegular() && fi.Size() > 0 {
				break
			}
			if err := os.Remove(abs); err != nil {
				break // not empty: the command put something there
			}
			if p == c.top {
				break
			}
		}
	}
	return nil
}
