package berth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/internal/seccomp"
	"github.com/berthlabs/berth/namespaces"
)

// The direct start.
//
// Where it can, Start runs no second Go program: a locked OS thread of the
// starting process unshares the container's mount, UTS, IPC and network
// namespaces (allowed to one thread of a multithreaded process, unlike a
// user namespace), sets the root file system up and pivots into it, and
// forks the container's first process into a new PID namespace (on
// amd64 sharing the starting process's memory, on a stack of its own, so
// that the fork copies no page tables and the exec tears none down). That
// child runs no Go code of its own: it waits for the parent to have
// mounted its /proc (the "pidns" option of fsconfig, Linux 6.18), joined
// it to its cgroup and attached its network, then applies limits,
// bounding set, user, no_new_privs and seccomp with raw system calls and
// execs the program. This saves the start of a second Go runtime (the
// re-executed init) and the exec of a multithreaded process.
//
// The thread's state (namespaces, root, umask) is never shared: it is
// locked for its whole life and ends with its goroutine. For an attached
// container it stays parked until the container exits, because the
// child's death signal follows the thread that forked it.
//
// A user namespace, a terminal, a shared mount namespace and kernels
// without the pidns option use the re-executed init; so do detached
// containers, which die with their monitor through the death signal of
// their init: the direct path would cost the monitor a parked thread per
// container for that.

// forceReexec, set by tests, makes every start use the re-executed init.
var forceReexec bool

// canStartDirect reports whether st can be started by the direct path.
func canStartDirect(st *State) bool {
	if !directPossible(st.Detached, st.UserNS != nil, st.TTY, st.Share) {
		return false
	}
	if st.Seccomp {
		if _, err := seccomp.Native(); err != nil {
			return false
		}
	}
	return true
}

// directStart is the rendezvous of the starting goroutine and the thread.
type directStart struct {
	// begin gets the start to go on with, or nil: the thread ends.
	begin    chan *starting
	launched bool // launch or cancel was called (on the caller's goroutine)
	s        *starting
	// st is the state as Start computed it, before the parent adds to it
	// (owner, cgroup fallback, PID): what the thread sets the root up from.
	st State
	// early: the thread sets the root up while the parent makes the state
	// and the cgroup (the root is a given directory and nothing is bound
	// from the state directory), waiting only before the cgroup view.
	early bool
	// hostWaited and move belong to the thread: whether it saw hostReady,
	// and its move into the v1 cgroup for the fork.
	hostWaited bool
	move       *cgroups.ThreadMove
	entered    bool // the thread is in the container's cgroup (move)
	// out is closed once the thread is out of the container's cgroup for
	// good (or never went in).
	out      chan struct{}
	outOnce  sync.Once
	hostProc int        // O_PATH descriptor of the host's /proc
	files    []*os.File // the child's fds 0..n-1
	// hostReady is closed once the state, the cgroup and the files are
	// ready for the thread.
	hostReady chan struct{}
	// nsReady gets the thread's TID once it is in its namespaces.
	nsReady chan directEvent
	// forked gets the child's PID and pidfd.
	forked chan directEvent
	// hostDone is the parent's cgroup and network result.
	hostDone chan error
	// result is the end of the start: nil once the program runs.
	result chan error
	// abort tells the thread to give up (the start failed).
	abort     chan struct{}
	abortOnce sync.Once
	// release lets a parked thread end.
	release chan struct{}
}

type directEvent struct {
	tid, pid, pidfd int
	err             error
}

// mayStartDirect is canStartDirect on c's fields, before its state
// exists: false means the direct path is out of the question.
func (c *Container) mayStartDirect() bool {
	return directPossible(c.Detach, c.UserNS != nil, c.TTY, c.Share)
}

// directPossible reports whether the direct path can start a container
// with these settings. It cannot start a detached one (its monitor would
// need a parked thread each), one with a user namespace, a terminal or
// the host's mount namespace, nor one with a new PID namespace on a
// kernel without proc's pidns option.
func directPossible(detached, userns, tty bool, share namespaces.Kind) bool {
	if forceReexec || detached || userns || tty || share&namespaces.Mount != 0 {
		return false
	}
	return share&namespaces.PID != 0 || namespaces.ProcPIDNamespaceSupported()
}

// prestartThread starts the thread of a direct start first thing when c
// may take that path: a new OS thread can take a millisecond to get a
// CPU, which then overlaps with the checks and the state. The thread
// waits for launch, or cancel if the start goes the other way or fails
// before. It returns nil when c cannot start directly.
func (c *Container) prestartThread() *directStart {
	if !c.mayStartDirect() {
		return nil
	}
	d := &directStart{begin: make(chan *starting, 1), out: make(chan struct{}), hostReady: make(chan struct{}),
		nsReady: make(chan directEvent, 1), forked: make(chan directEvent, 1),
		hostDone: make(chan error, 1), result: make(chan error, 1), abort: make(chan struct{}), release: make(chan struct{})}
	go d.thread()
	return d
}

// launch lets the thread go on with s: it makes the container's
// namespaces while the caller creates the state and cgroup, then waits
// for spawnDirect.
func (d *directStart) launch(s *starting) {
	d.s, d.st, d.early = s, *s.st, s.st.RootFS != "" && s.st.Network == nil
	s.threadOut = d.out
	d.launched = true
	d.begin <- s
}

// cancel lets a thread that was not launched end, unchanged.
func (d *directStart) cancel() {
	if !d.launched {
		d.launched = true
		d.begin <- nil
	}
}

// stop makes the thread give up, if it still waits for anything.
func (d *directStart) stop() { d.abortOnce.Do(func() { close(d.abort) }) }

// spawnDirect starts the container by the direct path, up to its program
// running, once its state and cgroup exist. On failure the caller's undo
// kills and reaps the child.
func (s *starting) spawnDirect(ctx context.Context, d *directStart) error {
	stdio, err := newStdio(s.c.Stdin, s.c.Stdout, s.c.Stderr, false)
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.stdio = stdio
	if err := s.createEtcFiles(); err != nil {
		return &InitError{Stage: initproto.StageNetwork, Err: err}
	}
	d.files = append([]*os.File{stdio.child[0], stdio.child[1], stdio.child[2]}, s.c.ExtraFiles...)
	close(d.hostReady)
	if err := s.driveDirect(ctx, d); err != nil {
		d.stop()
		close(d.release) // a thread that succeeded after all must not wait
		return err
	}
	s.release = d.release
	return nil
}

// createEtcFiles creates the container's /etc files empty, for the thread
// to bind while the network is attached: writeEtc then fills them in
// place, before the program starts.
func (s *starting) createEtcFiles() error {
	for _, m := range s.store.etcMounts(s.st) {
		f, err := os.OpenFile(m.Source, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// driveDirect is the parent's side: network and cgroup while the thread
// sets the root up, then the wait for the exec.
func (s *starting) driveDirect(ctx context.Context, d *directStart) error {
	s.warmDirect()
	ev, err := d.event(ctx, d.nsReady)
	if err != nil {
		if ev.err == nil {
			// Cancelled before the thread said how its namespaces went:
			// it may be about to fork, and always reports that too.
			ev, _ = d.event(ctx, d.forked)
			if ev.pid > 0 {
				err = errors.Join(err, s.recordChild(ev.pid, ev.pidfd, d)) // for undo to reap it
			}
		}
		return err
	}
	s.netns = fmt.Sprintf("/proc/self/task/%d/ns/net", ev.tid)
	netErr := make(chan error, 1)
	go func() { netErr <- s.attachNetwork(ctx) }()
	ev, err = d.event(ctx, d.forked)
	if err != nil {
		if ev.pid > 0 {
			err = errors.Join(err, s.recordChild(ev.pid, ev.pidfd, d)) // for undo to reap it
		}
		return errors.Join(err, <-netErr)
	}
	// The child has its copies; ours would keep its pipes from ending.
	s.stdio.closeChildEnds()
	hostErr := s.recordChild(ev.pid, ev.pidfd, d)
	hook("spawned")
	if hostErr == nil && !s.threadJoined() {
		hostErr = s.host.joinCgroup(ev.pid)
	}
	hostErr = errors.Join(hostErr, <-netErr)
	bridge := s.st.Network != nil && s.st.Network.Mode == NetworkBridge
	if hostErr == nil && bridge {
		// The peers' /etc/hosts list the containers whose recorded PID is
		// alive: record it first.
		if hostErr = s.store.update(s.st); hostErr == nil {
			hostErr = s.refreshPeers()
		}
	}
	d.hostDone <- hostErr
	if hostErr != nil {
		return hostErr
	}
	hook("network")
	select {
	case err := <-d.result:
		return err
	case <-ctx.Done():
		return &InitError{Stage: initproto.StageHandshake, Err: ctx.Err()}
	}
}

// warmDirect does, while the thread sets the root up, what the thread is
// about to need that is made once per process: the first start in a
// program (every start of a CLI) would otherwise make it on the thread's
// path. Failures are left for the thread to meet and report.
func (s *starting) warmDirect() {
	if s.st.Seccomp {
		_, _ = seccomp.Program(s.st.Caps)
	}
	_ = namespaces.PrepareCgroupView()
}

// threadJoined reports whether the thread joins the container's cgroup
// itself (cgroup v1; on v2 the child is born in it).
func (s *starting) threadJoined() bool {
	return s.host.group != nil && s.host.cgroupDir == nil
}

// event receives the thread's next event on ch. When ctx ends first, it
// stops the thread and still waits for the event (the thread always sends
// it, and it may carry a child to reap), returning it with ctx's error.
func (d *directStart) event(ctx context.Context, ch chan directEvent) (directEvent, error) {
	select {
	case ev := <-ch:
		return ev, ev.err
	case <-ctx.Done():
		d.stop()
		ev := <-ch
		return ev, &InitError{Stage: initproto.StageStart, Err: errors.Join(ctx.Err(), ev.err)}
	}
}

// recordChild takes the child's pidfd and notes its PID in the state, which the "running" record
// writes (the child dies with the thread if this program dies before:
// nothing needs the PID on disk sooner, but the peers of a bridge).
func (s *starting) recordChild(pid, pidfd int, d *directStart) error {
	proc, err := newProcHandle(pid, pidfd, true)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.proc = proc
	start, err := procStart(pid)
	s.stMu.Lock() // attachNetwork may be recording the state
	s.st.PID, s.st.PIDStart = pid, start
	s.stMu.Unlock()
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	return nil
}
