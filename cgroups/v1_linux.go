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
)

// v1 drives a group across the cgroup v1 hierarchies, one directory per
// hierarchy (co-mounted controllers such as cpu,cpuacct share one). It
// keeps only the group's path: its directories are joined from the
// layout's roots when needed, so that a program holding thousands of
// groups (a monitor of detached containers) keeps no paths for them.
type v1 struct {
	path      string
	roots     map[string]string // controller -> hierarchy root (the layout's)
	w         writer
	statFiles *statSet
}

func newV1(l layout, p string) *v1 {
	d := &v1{path: p, roots: l.v1, w: writer{fake: l.fake}}
	d.statFiles = newStatSet(func() []statReader { return v1StatReaders(d.dirMap(), l.fake) })
	return d
}

// dir returns the group's directory in the hierarchy of controller c, or
// "" when no hierarchy has c.
func (d *v1) dir(c string) string {
	root, ok := d.roots[c]
	if !ok {
		return ""
	}
	return filepath.Join(root, d.path)
}

// hier returns the group's directories, one per hierarchy, in the order
// of v1Controllers.
func (d *v1) hier() []string {
	var out []string
	for _, c := range v1Controllers {
		if dir := d.dir(c); dir != "" && !slices.Contains(out, dir) {
			out = append(out, dir)
		}
	}
	return out
}

// dirMap maps each controller to the group's directory of its hierarchy.
func (d *v1) dirMap() map[string]string {
	m := make(map[string]string, len(v1Controllers))
	for _, c := range v1Controllers {
		if dir := d.dir(c); dir != "" {
			m[c] = dir
		}
	}
	return m
}

func (d *v1) check(r *Resources) error {
	if r == nil {
		return nil
	}
	for _, need := range neededControllers(r, "blkio") {
		if d.dir(need) == "" {
			return fmt.Errorf("no cgroup v1 hierarchy with the %s controller: %w", need, errors.ErrUnsupported)
		}
	}
	if r.CPU != nil {
		return d.checkCPUSet(r.CPU)
	}
	return nil
}

// checkCPUSet checks the lists against the cpuset root's effective sets
// (cpuset.effective_cpus, or cpuset.cpus on kernels without it).
func (d *v1) checkCPUSet(c *CPU) error {
	root := d.roots["cpuset"]
	for _, x := range []struct{ what, list string }{{"cpus", c.Cpus}, {"mems", c.Mems}} {
		if x.list == "" {
			continue
		}
		eff, err := readString(root, "cpuset.effective_"+x.what)
		if errors.Is(err, fs.ErrNotExist) {
			eff, err = readString(root, "cpuset."+x.what)
		}
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

func (d *v1) create() (func() error, error) {
	var undos []func() error
	undo := func() error {
		var errs []error
		for _, u := range slices.Backward(undos) {
			errs = append(errs, u())
		}
		return errors.Join(errs...)
	}
	noop := func(string) error { return nil }
	cpuset := d.dir("cpuset")
	for _, dir := range d.hier() {
		root := strings.TrimSuffix(dir, d.path)
		after := noop
		if dir == cpuset {
			after = d.initCPUSet
		}
		u, err := mkdirChain(root, d.path, d.w.fake, noop, after)
		if err != nil {
			return nil, errors.Join(err, undo())
		}
		undos = append(undos, u)
	}
	return undo, nil
}

// initCPUSet copies cpuset.cpus and cpuset.mems from the parent into a
// new cpuset group: v1 creates them empty, and no task can join a group
// with an empty set.
func (d *v1) initCPUSet(dir string) error {
	for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readString(dir, name)
		if err != nil && !(d.w.fake && errors.Is(err, fs.ErrNotExist)) {
			return err
		}
		if strings.TrimSpace(cur) != "" {
			continue
		}
		parent, err := readString(filepath.Dir(dir), name)
		if d.w.fake && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := d.w.write(dir, name, strings.TrimSpace(parent)); err != nil {
			return err
		}
	}
	return nil
}

func (d *v1) exists() error {
	for _, dir := range d.hier() {
		if _, err := os.Stat(dir); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no directory for %s in any v1 hierarchy: %w", d.path, fs.ErrNotExist)
}

func (d *v1) addProc(pid int) error {
	for _, dir := range d.hier() {
		if err := d.w.write(dir, "cgroup.procs", itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// prepareThreadMove opens the tasks file of each of the group's
// hierarchy directories, and of the directory the calling thread is in
// there (from its cgroup file).
func (d *v1) prepareThreadMove() (_ *ThreadMove, retErr error) {
	data, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, err
	}
	home := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if dir := d.dir(c); dir != "" {
				home[dir] = filepath.Join(d.roots[c], parts[2])
				break
			}
		}
	}
	m := &ThreadMove{}
	defer func() {
		if retErr != nil {
			m.Close()
		}
	}()
	for _, dir := range d.hier() {
		h, ok := home[dir]
		if !ok {
			return nil, fmt.Errorf("the thread's cgroup in the hierarchy of %s: %w", dir, fs.ErrNotExist)
		}
		into, err := d.w.open(dir, "tasks")
		if err != nil {
			return nil, err
		}
		m.into = append(m.into, into)
		back, err := d.w.open(h, "tasks")
		if err != nil {
			return nil, err
		}
		m.home = append(m.home, back)
	}
	return m, nil
}

func (d *v1) procs() ([]int, error) { return readPids(d.hier()[0]) }

// subtreeProcs lists the processes in the group and its descendants in
// any hierarchy.
func (d *v1) subtreeProcs() ([]int, error) {
	var all []int
	missing := 0
	hier := d.hier()
	for _, dir := range hier {
		pids, err := subtreePids(dir)
		if err != nil {
			return nil, err
		}
		if !exists(dir) {
			missing++
		}
		all = append(all, pids...)
	}
	if missing == len(hier) {
		return nil, fs.ErrNotExist
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

func (d *v1) remove(ctx context.Context) error {
	var errs []error
	for _, dir := range d.hier() {
		errs = append(errs, removeWhenEmpty(ctx, dir, d.w.fake, d.subtreeProcs))
	}
	return errors.Join(errs...)
}

func (d *v1) openDir() (*os.File, error) {
	return nil, fmt.Errorf("a cgroup directory file descriptor is for cgroup v2 only: %w", errors.ErrUnsupported)
}
