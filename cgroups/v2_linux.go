package cgroups

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// v2 drives a group in a unified (cgroup v2) hierarchy.
type v2 struct {
	root      string // the hierarchy's mount point
	path      string // absolute cgroup path
	dir       string // root + path
	w         writer
	statFiles *statSet
}

func newV2(root, p string, fake bool) *v2 {
	d := &v2{root: root, path: p, dir: filepath.Join(root, p), w: writer{fake: fake}}
	d.statFiles = newStatSet(func() []statReader { return v2StatReaders(d.dir, fake) })
	return d
}

// available returns the controllers the root offers.
func (d *v2) available() ([]string, error) {
	s, err := readString(d.root, "cgroup.controllers")
	if err != nil {
		return nil, err
	}
	return strings.Fields(s), nil
}

func (d *v2) check(r *Resources) error {
	if r == nil {
		return nil
	}
	if len(r.Devices) > 0 {
		return fmt.Errorf("device rules on cgroup v2 need an eBPF device program, which this package does not build: %w", errors.ErrUnsupported)
	}
	if r.Memory != nil && r.Memory.OOMKillDisable != nil && *r.Memory.OOMKillDisable {
		return fmt.Errorf("disabling the OOM killer: cgroup v2 has no memory.oom_control: %w", errors.ErrUnsupported)
	}
	have, err := d.available()
	if err != nil {
		return err
	}
	for _, need := range neededControllers(r, "io") {
		if !slices.Contains(have, need) {
			return fmt.Errorf("controller %s not available in %s: %w", need, d.root, errors.ErrUnsupported)
		}
	}
	if r.CPU != nil {
		if err := d.checkCPUSet(r.CPU); err != nil {
			return err
		}
	}
	return nil
}

func (d *v2) checkCPUSet(c *CPU) error {
	for _, x := range []struct{ what, list, file string }{
		{"cpus", c.Cpus, "cpuset.cpus.effective"},
		{"mems", c.Mems, "cpuset.mems.effective"},
	} {
		if x.list == "" {
			continue
		}
		eff, err := readString(d.root, x.file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // nothing to check against
		}
		if err != nil {
			return err
		}
		if err := checkCPUSet(x.what, x.list, eff); err != nil {
			return err
		}
	}
	return nil
}

// neededControllers lists the controllers r writes to; io names the
// block I/O controller ("io" on v2, "blkio" on v1).
func neededControllers(r *Resources, io string) []string {
	var need []string
	if r.Memory != nil {
		need = append(need, "memory")
	}
	if r.CPU != nil && (r.CPU.Weight != nil || r.CPU.Quota != nil || r.CPU.Period != nil) {
		need = append(need, "cpu")
	}
	if r.CPU != nil && (r.CPU.Cpus != "" || r.CPU.Mems != "") {
		need = append(need, "cpuset")
	}
	if r.IO != nil {
		need = append(need, io)
	}
	if r.Pids != nil {
		need = append(need, "pids")
	}
	if len(r.Devices) > 0 {
		need = append(need, "devices")
	}
	return need
}

func (d *v2) create() (func() error, error) {
	have, err := d.available()
	if err != nil {
		return nil, err
	}
	var want []string
	for _, c := range v2Controllers {
		if slices.Contains(have, c) {
			want = append(want, c)
		}
	}
	noop := func(string) error { return nil }
	return mkdirChain(d.root, d.path, d.w.fake, func(dir string) error { return d.enable(dir, want) }, noop)
}

// enable turns on the wanted controllers in dir's cgroup.subtree_control,
// one write for all, or one each if the kernel refuses the batch (a
// controller the parent does not delegate is then left off).
func (d *v2) enable(dir string, want []string) error {
	cur, err := readString(dir, "cgroup.subtree_control")
	if err != nil && !(d.w.fake && errors.Is(err, fs.ErrNotExist)) {
		return err
	}
	var add []string
	for _, c := range want {
		if !slices.Contains(strings.Fields(cur), c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if d.w.fake { // show the union, as the kernel would
		return d.w.write(dir, "cgroup.subtree_control", strings.Join(union(strings.Fields(cur), want), " "))
	}
	if err := d.w.write(dir, "cgroup.subtree_control", strings.Join(add, " ")); err == nil {
		return nil
	}
	var errs []error
	for _, a := range add {
		if err := d.w.write(dir, "cgroup.subtree_control", a); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(add) {
		return fmt.Errorf("enabling controllers in %s: %w", dir, errors.Join(errs...))
	}
	return nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (d *v2) exists() error {
	st, err := os.Stat(d.dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory: %w", d.dir, fs.ErrNotExist)
	}
	return nil
}

func (d *v2) addProc(pid int) error {
	return d.w.write(d.dir, "cgroup.procs", fmt.Sprint(pid))
}

func (d *v2) prepareThreadMove() (*ThreadMove, error) {
	return nil, fmt.Errorf("moving one thread: cgroup v2 moves processes: %w", errors.ErrUnsupported)
}

func (d *v2) procs() ([]int, error) { return readPids(d.dir) }

func (d *v2) subtreeProcs() ([]int, error) { return subtreePids(d.dir) }

func (d *v2) remove(ctx context.Context) error {
	return removeWhenEmpty(ctx, d.dir, d.w.fake, d.subtreeProcs)
}

func (d *v2) openDir() (*os.File, error) {
	return os.OpenFile(d.dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}
