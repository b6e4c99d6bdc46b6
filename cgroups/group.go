package cgroups

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// ErrPopulated is wrapped by [Group.Delete] when the group still has
// processes.
var ErrPopulated = errors.New("cgroup has processes")

// Group is a control group: the same absolute path in every hierarchy the
// package manages (one directory on cgroup v2; one per controller
// hierarchy on v1). Create one with [New] or attach to one with [Load].
// Its methods are safe for concurrent use, though concurrent Set calls on
// overlapping fields race as the kernel files would.
//
// [Group.Stats] keeps the group's stats files open between calls (13 on
// v1, 11 on v2), which makes a repeated read five times cheaper; [Group.Close]
// releases them, and so do [Group.Delete] and the garbage collector. A
// program polling many groups should count those descriptors against its
// open-files limit, or Close each Group after reading.
type Group struct {
	path string
	mode CGMode
	d    driver
}

// testHookCreated, set by tests only, runs between creating the
// directories and writing the resources.
var testHookCreated func()

// driver is one cgroup version's implementation.
type driver interface {
	check(r *Resources) error
	create() (undo func() error, err error)
	exists() error
	set(r *Resources) error
	addProc(pid int) error
	prepareThreadMove() (*ThreadMove, error)
	procs() ([]int, error)
	subtreeProcs() ([]int, error)
	stats(s *Stats) error
	oomKills() (uint64, error)
	freeze(ctx context.Context) error
	thaw() error
	kill(ctx context.Context) error
	remove(ctx context.Context) error
	events(ctx context.Context) (<-chan Event, error)
	openDir() (*os.File, error)
	close() error
}

// New creates the group at path and applies r (nil applies nothing). A
// relative path is placed under the parent ([DefaultParent] unless
// [WithParent]); an absolute one is used as is. Either way the group sits
// at that absolute path from each hierarchy's root, never relative to the
// calling process's own cgroup. Missing ancestors are created; on cgroup
// v2 every controller the host offers (cpuset, cpu, io, memory, pids,
// hugetlb) is enabled in their cgroup.subtree_control.
//
// r is validated before anything is created, against the host too (CPUs
// that exist, controllers that are mounted). If any step fails, New
// removes what it created. It fails wrapping [fs.ErrExist] if the group
// exists, [fs.ErrInvalid] for bad values or paths, and
// [errors.ErrUnsupported] if the host lacks cgroups or a controller r
// needs.
func New(path string, r *Resources, opts ...Option) (_ *Group, retErr error) {
	g, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := g.d.check(r); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", g.path, err)
	}
	undo, err := g.d.create()
	if err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", g.path, err)
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, undo())
		}
	}()
	if testHookCreated != nil {
		testHookCreated()
	}
	if err := g.d.set(r); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", g.path, err)
	}
	return g, nil
}

// Load attaches to the existing group at path (resolved as in [New]). It
// fails wrapping [fs.ErrNotExist] if the group does not exist.
func Load(path string, opts ...Option) (*Group, error) {
	g, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	if err := g.d.exists(); err != nil {
		return nil, fmt.Errorf("loading cgroup %s: %w", g.path, err)
	}
	return g, nil
}

func open(p string, opts []Option) (*Group, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	abs, err := groupPath(cfg.parent, p)
	if err != nil {
		return nil, err
	}
	d, mode, err := newDriver(cfg.root, abs)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", abs, err)
	}
	g := &Group{path: abs, mode: mode, d: d}
	runtime.AddCleanup(g, func(d driver) { _ = d.close() }, d)
	return g, nil
}

// Close closes the files [Group.Stats] keeps open. The Group stays
// usable: a later Stats opens them again.
func (g *Group) Close() error {
	return g.d.close()
}

// Path returns the group's absolute cgroup path, such as "/berth/web".
func (g *Group) Path() string { return g.path }

// Mode returns the layout of the hierarchies the group lives in.
func (g *Group) Mode() CGMode { return g.mode }

// Set validates r and applies it; nil fields are left alone. Nothing is
// written if validation fails (see [New] for the checks). When a write
// fails, the fields written before it stay applied.
func (g *Group) Set(r *Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := g.d.check(r); err != nil {
		return fmt.Errorf("setting cgroup %s: %w", g.path, err)
	}
	if err := g.d.set(r); err != nil {
		return fmt.Errorf("setting cgroup %s: %w", g.path, err)
	}
	return nil
}

// AddProc moves the process pid, with all its threads, into the group (on
// v1, into the group of every managed hierarchy). Children it forks later
// are born in the group.
func (g *Group) AddProc(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("adding process %d to cgroup %s: invalid pid: %w", pid, g.path, fs.ErrInvalid)
	}
	if err := g.d.addProc(pid); err != nil {
		return fmt.Errorf("adding process %d to cgroup %s: %w", pid, g.path, err)
	}
	return nil
}

// PrepareThreadMove opens what moving the calling thread into the group
// and back takes (see [ThreadMove]). Call it on that thread. On cgroup v2,
// where a single thread can only move inside a threaded subtree (use
// clone3's CLONE_INTO_CGROUP with [Group.OpenDir] instead), it fails
// wrapping errors.ErrUnsupported.
func (g *Group) PrepareThreadMove() (*ThreadMove, error) {
	m, err := g.d.prepareThreadMove()
	if err != nil {
		return nil, fmt.Errorf("preparing to move a thread into cgroup %s: %w", g.path, err)
	}
	return m, nil
}

// Procs returns the PIDs of the processes in the group itself (not its
// descendants), in ascending order.
func (g *Group) Procs() ([]int, error) {
	pids, err := g.d.procs()
	if err != nil {
		return nil, fmt.Errorf("listing processes of cgroup %s: %w", g.path, err)
	}
	return pids, nil
}

// Stats reads the group's accounting: one read(2) of each file, kept open
// from the first call (see [Group.Close]), one allocation for the result
// and one per I/O device.
func (g *Group) Stats() (*Stats, error) {
	s := new(Stats)
	if err := g.d.stats(s); err != nil {
		return nil, fmt.Errorf("reading stats of cgroup %s: %w", g.path, err)
	}
	return s, nil
}

// OOMKills reads how many tasks of the group the OOM killer has killed
// (Stats().Memory.OOMKill), from the one file that holds it (v1
// memory.oom_control, v2 memory.events), where Stats reads them all.
// Without the memory controller it fails wrapping [errors.ErrUnsupported];
// a deleted group fails wrapping [fs.ErrNotExist]. Safe for concurrent
// use.
func (g *Group) OOMKills() (uint64, error) {
	n, err := g.d.oomKills()
	if err != nil {
		return 0, fmt.Errorf("reading OOM kills of cgroup %s: %w", g.path, err)
	}
	return n, nil
}

// Freeze stops every task in the group and its descendants, and returns
// once the kernel reports them frozen (v2 cgroup.freeze; v1 the freezer
// controller). If ctx ends first, Freeze thaws the group again and
// returns ctx's error. Without a freezer it fails wrapping
// [errors.ErrUnsupported].
func (g *Group) Freeze(ctx context.Context) error {
	if err := g.d.freeze(ctx); err != nil {
		return fmt.Errorf("freezing cgroup %s: %w", g.path, err)
	}
	return nil
}

// Thaw resumes the tasks Freeze stopped.
func (g *Group) Thaw() error {
	if err := g.d.thaw(); err != nil {
		return fmt.Errorf("thawing cgroup %s: %w", g.path, err)
	}
	return nil
}

// Kill sends SIGKILL to every process in the group and its descendants,
// including processes forked while the kill runs, and returns once none is
// left. v2 writes cgroup.kill (kernel 5.14+); v1, and older v2 kernels,
// freeze the group, signal each process, thaw, and repeat until it is
// empty. Cancelling ctx stops the waiting, not the signals already sent.
// Zombies are not processes of the group: Kill does not wait for the
// parent to reap them.
func (g *Group) Kill(ctx context.Context) error {
	if err := g.d.kill(ctx); err != nil {
		return fmt.Errorf("killing cgroup %s: %w", g.path, err)
	}
	return nil
}

// DeleteOptions changes what [Group.Delete] does. The zero value (or nil)
// deletes only an empty group.
type DeleteOptions struct {
	// Kill kills the processes of the group and its descendants first, as
	// [Group.Kill] does.
	Kill bool
}

// Delete removes the group and its descendant groups from every
// hierarchy. A group with processes is left alone and the error wraps
// [ErrPopulated], unless opts.Kill is set. Deleting a group that is
// already gone returns nil. ctx bounds the kill and the wait for killed
// processes to leave.
func (g *Group) Delete(ctx context.Context, opts *DeleteOptions) error {
	if opts != nil && opts.Kill {
		if err := g.d.kill(ctx); err != nil {
			return fmt.Errorf("deleting cgroup %s: %w", g.path, err)
		}
	}
	if err := errors.Join(g.d.remove(ctx), g.d.close()); err != nil {
		return fmt.Errorf("deleting cgroup %s: %w", g.path, err)
	}
	return nil
}

// Events watches the group's memory events and sends a snapshot of the
// counters each time they change: an OOM kill, hitting the limit (v2
// memory.events through inotify; v1 an eventfd registered for
// memory.oom_control, which only reports OOM). The channel is closed when
// ctx ends or the group is deleted. A receiver that falls behind misses
// no count, since each Event carries the totals.
func (g *Group) Events(ctx context.Context) (<-chan Event, error) {
	ch, err := g.d.events(ctx)
	if err != nil {
		return nil, fmt.Errorf("watching events of cgroup %s: %w", g.path, err)
	}
	return ch, nil
}

// OpenDir opens the group's cgroup v2 directory, for
// syscall.SysProcAttr.CgroupFD (clone3 CLONE_INTO_CGROUP): a child started
// that way is born in the group. The caller closes the file. On v1 it
// fails wrapping [errors.ErrUnsupported].
func (g *Group) OpenDir() (*os.File, error) {
	f, err := g.d.openDir()
	if err != nil {
		return nil, fmt.Errorf("opening cgroup %s: %w", g.path, err)
	}
	return f, nil
}
