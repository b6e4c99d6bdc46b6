package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthlabs/berth"
)

// env is what the tour creates and cleanUp removes.
type env struct {
	work     string // temporary: the app's source, the build context, the root unless --root
	root     string
	tempRoot bool
	bridge   bridgePlan
	rt       *berth.Runtime
	ctr      *berth.Container // once started
}

func (e *env) contextDir() string { return filepath.Join(e.work, "context") }

// setUp makes the temporary directory, chooses the bridge and opens the
// Runtime. On error it leaves nothing behind.
func setUp(ctx context.Context, r *report, o options) (_ *env, retErr error) {
	work, err := os.MkdirTemp("", "berth-quickstart-")
	if err != nil {
		return nil, err
	}
	e := &env{work: work, root: o.root}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, os.RemoveAll(work))
		}
	}()
	if err := os.MkdirAll(e.contextDir(), 0o755); err != nil {
		return nil, err
	}
	if e.root == "" {
		e.root, e.tempRoot = filepath.Join(work, "root"), true
	}
	if e.bridge, err = planBridge(ctx, o.bridge, filepath.Join(e.root, "ipam")); err != nil {
		return nil, err
	}
	e.rt, err = berth.Open(e.root, berth.WithStateDir(filepath.Join(e.root, "state")),
		berth.WithBridge(e.bridge.name, e.bridge.subnet))
	if err != nil {
		return nil, fmt.Errorf("opening the runtime in %s: %w", e.root, err)
	}
	kept, made := "temporary", "created for this run"
	if !e.tempRoot {
		kept = "kept"
	}
	if e.bridge.existed {
		made = "existing, kept"
	}
	r.detail("root %s (%s), bridge %s on %s (%s)", e.root, kept, e.bridge.name, e.bridge.subnet, made)
	return e, nil
}

// buildImage builds the embedded Dockerfile on the context holding bin.
func (e *env) buildImage(ctx context.Context, r *report, bin string) (*berth.Image, error) {
	r.step(2, "building the image quickstart:latest from the embedded Dockerfile (berth.Build)")
	start := time.Now()
	img, err := berth.Build(ctx, e.contextDir(), &berth.BuildOptions{
		DockerfileContent: dockerfile,
		Tags:              []string{"quickstart:latest"},
		Store:             e.rt.Images(),
		Snapshotter:       e.rt.Snapshotter(),
		StateDir:          e.rt.StateDir(),
		Progress:          r.buildEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("building the image: %w", err)
	}
	r.detail("image %s, %.1f MB, built in %s", img.ID().String()[:19], float64(img.Size())/1e6, since(start))
	return img, nil
}

// fetch waits for the app to answer on addr and prints its page.
func fetch(ctx context.Context, r *report, addr string) error {
	url := "http://" + addr + "/"
	r.step(4, "fetching %s (through the published port)", url)
	start := time.Now()
	status, body, err := get(ctx, url, 10*time.Second)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", url, err)
	}
	r.detail("%s in %s: %s", status, since(start), strings.TrimSpace(body))
	if !strings.HasPrefix(status, "200") {
		return fmt.Errorf("fetching %s: %s", url, status)
	}
	return nil
}

// printStats prints the container's resource use.
func (e *env) printStats(ctx context.Context, r *report) error {
	r.step(5, "reading the container's resource use (cgroup and interface counters)")
	s, err := e.ctr.Stats(ctx)
	if err != nil {
		return fmt.Errorf("reading stats: %w", err)
	}
	limit := "unlimited"
	if s.Memory.Limit > 0 {
		limit = mib(uint64(s.Memory.Limit))
	}
	r.detail("memory %s of %s (peak %s), CPU %s, %d tasks", mib(s.Memory.Usage), limit, mib(s.Memory.MaxUsage),
		round(s.CPU.Usage), s.Pids.Current)
	for _, n := range s.Networks {
		r.detail("%s: received %d bytes in %d packets, sent %d bytes in %d packets", n.Name, n.RxBytes, n.RxPackets,
			n.TxBytes, n.TxPackets)
	}
	return nil
}

// cleanUp removes what the tour made, in reverse order, and says what.
func (e *env) cleanUp(ctx context.Context, r *report) error {
	start := time.Now()
	var errs []error
	var what []string
	if e.ctr != nil {
		if _, err := e.ctr.Stop(ctx, 5*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stopping the container: %w", err))
		}
		errs = append(errs, e.ctr.Delete(ctx))
		what = append(what, "container "+e.ctr.ID[:12]+" (its snapshot, cgroup and IP lease)")
	}
	if !e.bridge.existed {
		errs = append(errs, deleteBridge(e.bridge.name))
		if err := e.rt.IPAM().DeletePool(ctx, e.bridge.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("deleting the bridge's address pool: %w", err))
		}
		what = append(what, "bridge "+e.bridge.name)
	}
	errs = append(errs, e.rt.Close())
	if err := checkNoMounts(e.work); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, os.RemoveAll(e.work))
		what = append(what, e.work)
	}
	err := errors.Join(errs...)
	if err == nil {
		r.line("cleaned up in %s: %s", since(start), strings.Join(what, ", "))
	}
	return err
}

// checkNoMounts refuses to remove dir while something is mounted under
// it: removing would reach into the mounted file system.
func checkNoMounts(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			return fmt.Errorf("%s is still mounted: not removing %s", fields[4], dir)
		}
	}
	return sc.Err()
}
