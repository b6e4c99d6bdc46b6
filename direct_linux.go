package berth

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/caps"
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
// forks the container's first process into a new PID namespace. That
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
	if forceReexec || st.Detached || st.UserNS != nil || st.TTY || st.Share&namespaces.Mount != 0 {
		return false
	}
	if st.Share&namespaces.PID == 0 && !namespaces.ProcPIDNamespaceSupported() {
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
	s     *starting
	files []*os.File // the child's fds 0..n-1
	park  bool
	// hostReady is closed once the state, the cgroup and the files are
	// ready for the thread.
	hostReady chan struct{}
	// nsReady gets the thread's TID once it is in its namespaces.
	nsReady chan directEvent
	// forked gets the child's PID and pidfd.
	forked chan directEvent
	// pidns is the child's PID namespace, for its /proc.
	pidns chan *os.File
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

// startThread starts the thread of a direct start, which makes the
// container's namespaces while the caller creates its state and cgroup,
// then waits for spawnDirect.
func (s *starting) startThread() *directStart {
	d := &directStart{s: s, park: true, hostReady: make(chan struct{}),
		nsReady: make(chan directEvent, 1), forked: make(chan directEvent, 1), pidns: make(chan *os.File, 1),
		hostDone: make(chan error, 1), result: make(chan error, 1), abort: make(chan struct{}), release: make(chan struct{})}
	go d.thread()
	return d
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
	ev, err := recvEvent(ctx, d.nsReady)
	if err != nil {
		return err
	}
	s.netns = fmt.Sprintf("/proc/self/task/%d/ns/net", ev.tid)
	netErr := make(chan error, 1)
	go func() { netErr <- s.attachNetwork(ctx) }()
	ev, err = recvEvent(ctx, d.forked)
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

// threadJoined reports whether the thread joins the container's cgroup
// itself (cgroup v1; on v2 the child is born in it).
func (s *starting) threadJoined() bool {
	return s.host.group != nil && s.host.cgroupDir == nil
}

func recvEvent(ctx context.Context, ch chan directEvent) (directEvent, error) {
	select {
	case ev := <-ch:
		return ev, ev.err
	case <-ctx.Done():
		return directEvent{}, &InitError{Stage: initproto.StageStart, Err: ctx.Err()}
	}
}

// recordChild takes the child's pidfd, hands the thread the child's PID
// namespace, and notes the PID in the state, which the "running" record
// writes (the child dies with the thread if this program dies before:
// nothing needs the PID on disk sooner, but the peers of a bridge).
func (s *starting) recordChild(pid, pidfd int, d *directStart) error {
	proc, err := newProcHandle(pid, pidfd, true)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.proc = proc
	if s.st.Share&namespaces.PID == 0 {
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid", pid))
		if err != nil {
			return &InitError{Stage: initproto.StageStart, Err: err}
		}
		d.pidns <- ns
	}
	s.st.PID = pid
	if s.st.PIDStart, err = procStart(pid); err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	return nil
}

// thread is the locked OS thread that becomes the container's side of
// the start. It never unlocks: its goroutine's end ends the thread.
func (d *directStart) thread() {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread never ends (a goroutine that exits locked to it
		// leaves it wedged, with its namespaces, which /proc/self shows):
		// hand over to another thread, which cannot be this one while it
		// stays locked here.
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			d.body()
		}()
		<-locked
		runtime.UnlockOSThread()
		return
	}
	d.body()
}

func (d *directStart) body() {
	err := d.run()
	if err != nil {
		d.result <- err
		return
	}
	d.result <- nil
	if d.park {
		<-d.release
	}
}

func (d *directStart) run() error {
	st := d.s.st
	flags := uintptr(namespaces.All&^(namespaces.PID|namespaces.Cgroup)&^st.Share) | unix.CLONE_FS
	if err := unix.Unshare(int(flags)); err != nil {
		err = &InitError{Stage: initproto.StageStart, Err: &fs.PathError{Op: "unshare", Path: namespaces.Kind(flags &^ unix.CLONE_FS).String(), Err: err}}
		d.nsReady <- directEvent{err: err}
		return err
	}
	d.nsReady <- directEvent{tid: unix.Gettid()}
	select {
	case <-d.hostReady:
	case <-d.abort:
		return errors.New("start cancelled")
	}
	ev, pipes, path, sp := d.forkChild()
	if pipes != nil {
		defer pipes.close()
	}
	d.forked <- ev
	if ev.err != nil {
		return ev.err
	}
	if err := d.finishRoot(); err != nil {
		return err
	}
	select {
	case err := <-d.hostDone:
		if err != nil {
			return err
		}
	case <-d.abort:
		return errors.New("start cancelled")
	}
	if _, err := unix.Write(pipes.goW, []byte{1}); err != nil {
		return &InitError{Stage: initproto.StageHandshake, Err: &fs.PathError{Op: "write", Path: "start pipe", Err: err}}
	}
	return readChildError(pipes.errR, path, sp)
}

// forkChild sets the container up and forks its process, from inside the
// container's cgroup on v1 (see cgroupMove), and reports nothing before
// the thread is out of the cgroup again: the parent's clean-up kills what
// is in it. A child forked before a failure is in the event with the
// error, for the parent to reap.
func (d *directStart) forkChild() (ev directEvent, pipes *childPipes, path string, sp *childSpec) {
	move, err := d.cgroupMove()
	if err != nil {
		return directEvent{err: err}, nil, "", nil
	}
	if move != nil {
		defer move.Close()
	}
	sp, path, err = d.setup()
	if err != nil {
		return directEvent{err: err}, nil, "", nil
	}
	pipes, err = newChildPipes()
	if err != nil {
		return directEvent{err: &InitError{Stage: initproto.StageStart, Err: err}}, nil, "", nil
	}
	sp.goFD, sp.errFD = pipes.goR, pipes.errW
	sp.closeRanges = closeRangesExcept(append([]int{sp.goFD, sp.errFD}, sp.fds...))
	if move != nil {
		if err := move.Enter(); err != nil {
			return directEvent{err: &InitError{Stage: initproto.StageCgroup, Err: err}}, pipes, "", nil
		}
	}
	pid, pidfd, err := d.fork(sp)
	if move != nil {
		if lerr := move.Leave(); lerr != nil && err == nil {
			err = &InitError{Stage: initproto.StageCgroup, Err: lerr}
		}
	}
	pipes.closeErrW()
	return directEvent{pid: pid, pidfd: pidfd, err: err}, pipes, path, sp
}

// cgroupMove prepares, on cgroup v1, the move of this thread into the
// container's cgroup for the fork, so that the child is born there: the
// thread moves itself, which the kernel does without the global lock
// whose first taking waits for an RCU grace period, and it stays in only
// for the clone (its allocations would be charged to the container). The
// files are opened now, while the host's cgroup mounts are reachable.
func (d *directStart) cgroupMove() (*cgroups.ThreadMove, error) {
	if !d.s.threadJoined() {
		return nil, nil
	}
	m, err := d.s.host.group.PrepareThreadMove()
	if err != nil {
		return nil, &InitError{Stage: initproto.StageCgroup, Err: err}
	}
	return m, nil
}

// finishRoot mounts the container's /proc once its PID namespace exists.
func (d *directStart) finishRoot() error {
	if !d.rootfs().DeferProc {
		return nil
	}
	var ns *os.File
	select {
	case ns = <-d.pidns:
	case <-d.abort:
		return errors.New("start cancelled")
	}
	defer ns.Close()
	r := d.rootfs()
	return atStageErr(initproto.StageRootFS, r.MountProc(ns))
}

func (d *directStart) rootfs() *rootfsConfig {
	if d.s.direct == nil {
		r := rootfsConfigOf(d.s.st, d.s.store.etcMounts(d.s.st))
		r.DeferProc = d.s.st.Share&namespaces.PID == 0
		d.s.direct = &r
	}
	return d.s.direct
}

// setup does on the thread what the re-executed init does before its
// exec: root file system, hostname, loopback, and the lookups that need
// the container's root (user, program, working directory). It returns
// the child's spec and the program's path.
func (d *directStart) setup() (*childSpec, string, error) {
	st := d.s.st
	if err := atStageErr(initproto.StageRootFS, setupRootFS(d.rootfs(), st.RootFSMounts)); err != nil {
		return nil, "", err
	}
	if st.Hostname != "" {
		if err := unix.Sethostname([]byte(st.Hostname)); err != nil {
			return nil, "", &InitError{Stage: initproto.StageHostname, Err: &fs.PathError{Op: "sethostname", Path: st.Hostname, Err: err}}
		}
	}
	if st.Share&namespaces.Net == 0 {
		if err := atStageErr(initproto.StageNetwork, loopbackUp()); err != nil {
			return nil, "", err
		}
	}
	p := st.process(len(d.s.c.ExtraFiles))
	eu, err := lookupUser(&p)
	if err != nil {
		return nil, "", &InitError{Stage: initproto.StageUser, Err: err}
	}
	env := withDefault(p.Env, "HOME", eu.Home)
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, "", &InitError{Stage: initproto.StageExec, Err: err}
	}
	if err := checkDir(p.Dir); err != nil {
		return nil, "", &InitError{Stage: initproto.StageCwd, Err: err}
	}
	sp, err := d.spec(&p, eu.UID, eu.GID, eu.Groups, path, env)
	return sp, path, err
}

func atStageErr(stage string, err error) error {
	if err == nil {
		return nil
	}
	return &InitError{Stage: stage, Err: err}
}

// checkDir checks that the working directory exists in the container, as
// a directory, so that a bad one is reported with its stage before the
// fork.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	if dir[0] != '/' {
		return &fs.PathError{Op: "chdir", Path: dir, Err: errors.New("working directory must be absolute")}
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return &fs.PathError{Op: "chdir", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &fs.PathError{Op: "chdir", Path: dir, Err: unix.ENOTDIR}
	}
	return nil
}

// spec prepares the child's system-call arguments.
func (d *directStart) spec(p *initproto.Process, uid, gid uint32, groups []uint32, path string, env []string) (*childSpec, error) {
	sp := &childSpec{pdeathsig: d.park, cgroupNS: d.s.st.Share&namespaces.Cgroup == 0,
		uid: uintptr(uid), gid: uintptr(gid), groups: groups, nnp: p.NoNewPrivileges}
	for _, f := range d.files {
		sp.fds = append(sp.fds, int(f.Fd()))
	}
	for _, l := range p.Rlimits {
		sp.rlimits = append(sp.rlimits, childRlimit{resource: uintptr(l.Type), limit: unix.Rlimit{Cur: l.Soft, Max: l.Hard}})
	}
	keep := caps.Mask(p.Caps)
	for c := 0; c <= p.CapLast; c++ {
		if keep&(1<<c) == 0 {
			sp.dropCaps = append(sp.dropCaps, uintptr(c))
		}
	}
	var err error
	dir := p.Dir
	if dir == "" {
		dir = "/"
	}
	if sp.dir, err = unix.BytePtrFromString(dir); err != nil {
		return nil, &InitError{Stage: initproto.StageCwd, Err: err}
	}
	if sp.path, err = unix.BytePtrFromString(path); err != nil {
		return nil, &InitError{Stage: initproto.StageExec, Err: err}
	}
	if sp.argv, err = cStrings(p.Args); err != nil {
		return nil, &InitError{Stage: initproto.StageExec, Err: err}
	}
	if sp.envp, err = cStrings(env); err != nil {
		return nil, &InitError{Stage: initproto.StageExec, Err: err}
	}
	if p.Seccomp {
		if sp.seccomp, err = seccompProgram(p.Caps); err != nil {
			return nil, &InitError{Stage: initproto.StageSeccomp, Err: err}
		}
	}
	return sp, nil
}

// cStrings is a NULL-terminated array of C strings.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		b, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, b)
	}
	return append(out, nil), nil
}

// seccompPrograms caches the filter of each capability set (building one
// takes tens of microseconds); the children only read them.
var seccompPrograms sync.Map // caps.Mask -> *unix.SockFprog

func seccompProgram(capSet []int) (*unix.SockFprog, error) {
	key := caps.Mask(capSet)
	if p, ok := seccompPrograms.Load(key); ok {
		return p.(*unix.SockFprog), nil
	}
	p, err := buildSeccompProgram(capSet)
	if err != nil {
		return nil, err
	}
	actual, _ := seccompPrograms.LoadOrStore(key, p)
	return actual.(*unix.SockFprog), nil
}

func buildSeccompProgram(capSet []int) (*unix.SockFprog, error) {
	arch, err := seccomp.Native()
	if err != nil {
		return nil, err
	}
	prog, err := seccomp.Build(arch, capSet)
	if err != nil {
		return nil, err
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}, nil
}

// fork forks the child with every signal blocked on this thread, so that
// no Go signal handler runs in the child before it resets them.
func (d *directStart) fork(sp *childSpec) (pid, pidfd int, err error) {
	var fd int32 = -1
	args := &cloneArgs{flags: unix.CLONE_PIDFD, pidfd: uint64(uintptr(unsafe.Pointer(&fd))), exitSignal: uint64(unix.SIGCHLD)}
	if d.s.st.Share&namespaces.PID == 0 {
		args.flags |= unix.CLONE_NEWPID
	}
	if cg := d.s.host.cgroupDir; cg != nil {
		args.flags |= unix.CLONE_INTO_CGROUP
		args.cgroup = uint64(cg.Fd())
	}
	all, old := ^uint64(0), uint64(0)
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return 0, 0, &InitError{Stage: initproto.StageStart, Err: os.NewSyscallError("rt_sigprocmask", e)}
	}
	p, e := forkDirect(args, sp)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.KeepAlive(sp)
	runtime.KeepAlive(d.files)
	if e != 0 {
		return 0, 0, &InitError{Stage: initproto.StageStart, Err: os.NewSyscallError("clone3", e)}
	}
	return p, int(fd), nil
}

// childPipes are the go pipe (the child reads goR) and the error pipe,
// close-on-exec, so that its end of stream without a record means the
// exec succeeded.
type childPipes struct {
	goR, goW, errR, errW int
}

func newChildPipes() (*childPipes, error) {
	var g, e [2]int
	if err := unix.Pipe2(g[:], unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	if err := unix.Pipe2(e[:], unix.O_CLOEXEC); err != nil {
		unix.Close(g[0])
		unix.Close(g[1])
		return nil, os.NewSyscallError("pipe2", err)
	}
	return &childPipes{goR: g[0], goW: g[1], errR: e[0], errW: e[1]}, nil
}

// closeErrW closes the parent's copy of the error pipe's write end, once
// the child has its own.
func (p *childPipes) closeErrW() {
	if p.errW >= 0 {
		unix.Close(p.errW)
		p.errW = -1
	}
}

func (p *childPipes) close() {
	p.closeErrW()
	for _, fd := range []int{p.goR, p.goW, p.errR} {
		unix.Close(fd)
	}
}

// readChildError waits for the child's exec: end of stream is success, a
// record is the step that failed.
func readChildError(fd int, path string, sp *childSpec) error {
	var rec [12]byte
	n := 0
	for n < len(rec) {
		m, err := unix.Read(fd, rec[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &InitError{Stage: initproto.StageHandshake, Err: &fs.PathError{Op: "read", Path: "child error pipe", Err: err}}
		}
		if m == 0 {
			break
		}
		n += m
	}
	if n == 0 {
		return nil
	}
	if n < len(rec) {
		return &InitError{Stage: initproto.StageHandshake, Err: io.ErrUnexpectedEOF}
	}
	step := binary.NativeEndian.Uint32(rec[0:])
	index := binary.NativeEndian.Uint32(rec[4:])
	errno := syscall.Errno(binary.NativeEndian.Uint32(rec[8:]))
	return childStepError(step, index, errno, path, sp)
}

// childStepError turns a child's failure record into an InitError.
func childStepError(step, index uint32, errno syscall.Errno, path string, sp *childSpec) error {
	pe := func(stage, op, what string) error {
		return &InitError{Stage: stage, Err: &fs.PathError{Op: op, Path: what, Err: errno}}
	}
	switch step {
	case childStepCgroupNS:
		return pe(initproto.StageCgroup, "unshare", "cgroup namespace")
	case childStepSetsid:
		return pe(initproto.StageStart, "setsid", "")
	case childStepFDs:
		return pe(initproto.StageFDs, "dup3", fmt.Sprintf("fd %d", index))
	case childStepRlimit:
		r := "?"
		if int(index) < len(sp.rlimits) {
			r = fmt.Sprint(sp.rlimits[index].resource)
		}
		return pe(initproto.StageRlimits, "prlimit", "resource "+r)
	case childStepCaps:
		return pe(initproto.StageCaps, "prctl PR_CAPBSET_DROP", caps.Name(int(index)))
	case childStepGroups:
		return pe(initproto.StageUser, "setgroups", fmt.Sprint(sp.groups))
	case childStepGID:
		return pe(initproto.StageUser, "setresgid", fmt.Sprint(sp.gid))
	case childStepUID:
		return pe(initproto.StageUser, "setresuid", fmt.Sprint(sp.uid))
	case childStepNNP:
		return pe(initproto.StageNoNewPriv, "prctl PR_SET_NO_NEW_PRIVS", "1")
	case childStepCwd:
		return pe(initproto.StageCwd, "chdir", unix.BytePtrToString(sp.dir))
	case childStepCloseRange:
		return pe(initproto.StageFDs, "close_range", fmt.Sprintf("fd %d..", len(sp.fds)))
	case childStepSeccomp:
		return pe(initproto.StageSeccomp, "seccomp", "default profile")
	case childStepExec:
		return pe(initproto.StageExec, "execve", path)
	}
	return &InitError{Stage: initproto.StageHandshake, Err: fmt.Errorf("child failed at unknown step %d: %w", step, errno)}
}
