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

// v1 drives a group across the cgroup v1 hierarchies, one directory per
// hierarchy (co-mounted controllers such as cpu,cpuacct share one).
type v1 struct {
	path      string
	roots     map[string]string // controller -> hierarchy root
	dirs      map[string]string // controller -> the group's directory
	hier      []string          // the group's directories, one per hierarchy
	w         writer
	statFiles *statSet
}

func newV1(l layout, p string) *v1 {
	d := &v1{path: p, roots: l.v1, dirs: map[string]string{}, w: writer{fake: l.fake}}
	for _, c := range v1Controllers {
		root, ok := l.v1[c]
		if !ok {
			continue
		}
		dir := filepath.Join(root, p)
		d.dirs[c] = dir
		if !slices.Contains(d.hier, dir) {
			d.hier = append(d.hier, dir)
		}
	}
	d.statFiles = newStatSet(v1StatReaders(d.dirs, l.fake))
	return d
}

func (d *v1) check(r *Resources) error {
	if r == nil {
		return nil
	}
	for _, need := range neededControllers(r, "blkio") {
		if _, ok := d.dirs[need]; !ok {
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
	for _, dir := range d.hier {
		root := strings.TrimSuffix(dir, d.path)
		after := noop
		if dir == d.dirs["cpuset"] {
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
	for _, dir := range d.hier {
		if _, err := os.Stat(dir); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no directory for %s in any v1 hierarchy: %w", d.path, fs.ErrNotExist)
}

func (d *v1) addProc(pid int) error {
	for _, dir := range d.hier {
		if err := d.w.write(dir, "cgroup.procs", itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// addThread writes tid into each hierarchy's tasks file, after opening
// the tasks files of the directories it comes from; restore writes it
// back into those and closes them.
func (d *v1) addThread(tid int) (func() error, error) {
	home, err := d.threadHome(tid)
	if err != nil {
		return nil, err
	}
	val := itoa(tid)
	restore := func(dirs []string) error {
		var errs []error
		for _, dir := range dirs {
			if fd, ok := home[dir]; ok {
				if _, err := unix.Write(fd, []byte(val)); err != nil {
					errs = append(errs, &fs.PathError{Op: "write", Path: "tasks of " + dir, Err: err})
				}
			}
		}
		closeAll(home)
		return errors.Join(errs...)
	}
	for i, dir := range d.hier {
		if err := d.w.write(dir, "tasks", val); err != nil {
			return nil, errors.Join(err, restore(d.hier[:i]))
		}
	}
	return func() error { return restore(d.hier) }, nil
}

// threadHome opens, for each of the group's hierarchy directories, the
// tasks file of the directory thread tid of this process (0: the calling
// thread) is in, from its cgroup file.
func (d *v1) threadHome(tid int) (_ map[string]int, retErr error) {
	path := "/proc/thread-self/cgroup"
	if tid != 0 {
		path = fmt.Sprintf("/proc/self/task/%d/cgroup", tid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	home := map[string]int{}
	defer func() {
		if retErr != nil {
			closeAll(home)
		}
	}()
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			dir, ok := d.dirs[c]
			if _, done := home[dir]; !ok || done {
				continue
			}
			p := filepath.Join(d.roots[c], parts[2], "tasks")
			fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: p, Err: err}
			}
			home[dir] = fd
			break
		}
	}
	return home, nil
}

func closeAll(fds map[string]int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func (d *v1) procs() ([]int, error) { return readPids(d.hier[0]) }

// subtreeProcs lists the processes in the group and its descendants in
// any hierarchy.
func (d *v1) subtreeProcs() ([]int, error) {
	var all []int
	missing := 0
	for _, dir := range d.hier {
		pids, err := subtreePids(dir)
		if err != nil {
			return nil, err
		}
		if !exists(dir) {
			missing++
		}
		all = append(all, pids...)
	}
	if missing == len(d.hier) {
		return nil, fs.ErrNotExist
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

func (d *v1) remove(ctx context.Context) error {
	var errs []error
	for _, dir := range d.hier {
		errs = append(errs, removeWhenEmpty(ctx, dir, d.w.fake, d.subtreeProcs))
	}
	return errors.Join(errs...)
}

func (d *v1) openDir() (*os.File, error) {
	return nil, fmt.Errorf("a cgroup directory file descriptor is for cgroup v2 only: %w", errors.ErrUnsupported)
}
