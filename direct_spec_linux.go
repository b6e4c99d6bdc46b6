package berth

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/caps"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/internal/seccomp"
	"github.com/berthlabs/berth/namespaces"
)

// spec prepares the child's system-call arguments.
func (d *directStart) spec(p *initproto.Process, uid, gid uint32, groups []uint32, path string, env []string) (*childSpec, error) {
	sp := &childSpec{pdeathsig: true, cgroupNS: d.s.st.Share&namespaces.Cgroup == 0,
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
		if sp.seccomp, err = seccomp.Program(p.Caps); err != nil {
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

// fork forks the child with every signal blocked on this thread, so that
// no Go signal handler runs in the child before it resets them.
func (d *directStart) fork(sp *childSpec, stack []byte) (pid, pidfd int, err error) {
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
	var p int
	var e syscall.Errno
	if stack != nil {
		args.flags |= unix.CLONE_VM
		args.stack, args.stackSize = uint64(uintptr(unsafe.Pointer(&stack[0]))), uint64(len(stack))
		p, e = forkDirectVM(args, sp)
	} else {
		p, e = forkDirect(args, sp)
	}
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.KeepAlive(sp)
	runtime.KeepAlive(d.files)
	if e != 0 {
		return 0, 0, &InitError{Stage: initproto.StageStart, Err: os.NewSyscallError("clone3", e)}
	}
	return p, int(fd), nil
}

// childStackSize is the stack of a child that shares the parent's memory:
// its code needs well under 1 KiB (the linker holds nosplit code to
// that); only the pages it touches are allocated.
const childStackSize = 64 << 10

// childStack maps the stack of a child that shares this process's memory
// (CLONE_VM), or returns nil where that fork is not available: on
// architectures without its assembly, and in builds with the race
// detector or a sanitizer (instrumented).
func childStack() ([]byte, error) {
	if !cloneVM || instrumented {
		return nil, nil
	}
	stack, err := unix.Mmap(-1, 0, childStackSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK|unix.MAP_NORESERVE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return stack, nil
}

// childPipes are the go pipe (the child reads goR) and the error pipe,
// close-on-exec, so that its end of stream without a record means the
// exec succeeded.
type childPipes struct {
	goR, goW, errR, errW int
	// stack is the stack of a child sharing this process's memory, and
	// sp its spec: both stay until the child has exec'd or exited.
	stack []byte
	sp    *childSpec
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

// close closes the pipes. A child sharing this process's memory is first
// let go (the go pipe's end of stream makes a waiting child exit) and
// waited for: its stack is unmapped once the error pipe's end of stream
// says it has exec'd or exited. A child still there after a few seconds
// (stopped) keeps its stack.
func (p *childPipes) close() {
	p.closeErrW()
	unix.Close(p.goW)
	if p.stack != nil && waitEOF(p.errR, childGoneTimeout) {
		_ = unix.Munmap(p.stack)
	}
	runtime.KeepAlive(p.sp)
	for _, fd := range []int{p.goR, p.errR} {
		unix.Close(fd)
	}
}

// childGoneTimeout bounds childPipes.close's wait for a child to go.
const childGoneTimeout = 5 * time.Second

// waitEOF reads fd until its end of stream, for at most timeout.
func waitEOF(fd int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	var buf [64]byte
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(left.Milliseconds())+1); err != nil && err != unix.EINTR {
			return false
		}
		if pfd[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(fd, buf[:])
		if n == 0 && err == nil {
			return true
		}
		if err != nil && err != unix.EINTR && err != unix.EAGAIN {
			return false
		}
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
