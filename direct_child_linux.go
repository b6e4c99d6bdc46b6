package berth

import (
	"slices"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childSpec is everything the directly forked container process does
// between fork and execve, prepared by the starting thread before the fork
// as plain numbers and pointers: the child runs no Go code that could
// allocate, grow its stack or meet the scheduler (see forkDirect).
type childSpec struct {
	goFD, errFD int  // read one byte from goFD before going on; errors to errFD
	pdeathsig   bool // SIGKILL when the forking thread ends
	// sharedMemory: the child shares the parent's memory (CLONE_VM), so
	// it must not change what belongs to the memory map, such as the
	// dumpable flag, which the parent would keep.
	sharedMemory bool
	cgroupNS     bool // unshare the cgroup namespace once in the cgroup
	fds          []int
	// closeRanges are the descriptor ranges to close at once after the
	// fork (everything but goFD, errFD and fds): a duplicate of another
	// goroutine's descriptor would hold its lock or pipe end open.
	closeRanges [][2]uintptr
	rlimits     []childRlimit
	dropCaps    []uintptr // capabilities to drop from the bounding set
	groups      []uint32
	uid, gid    uintptr
	nnp         bool
	seccomp     *unix.SockFprog // nil: no filter
	dir, path   *byte
	argv, envp  []*byte // NULL-terminated
}

type childRlimit struct {
	resource uintptr
	limit    unix.Rlimit
}

// Steps of the child, reported to the parent with the errno of a failure.
const (
	childStepCgroupNS = iota + 1
	childStepSetsid
	childStepFDs
	childStepRlimit
	childStepCaps
	childStepGroups
	childStepGID
	childStepUID
	childStepNNP
	childStepCwd
	childStepCloseRange
	childStepSeccomp
	childStepExec
)

// cloneArgs is struct clone_args of clone3(2), up to the cgroup field.
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls, setTID, setTIDSize, cgroup uint64
}

// forkDirect forks the container's first process with clone3 and args,
// and returns its PID in the parent. The child waits for sp's go byte,
// then becomes the program (childMain); it never returns here.
//
// Like the fork in the syscall package, the child runs with every signal
// blocked by the caller, and only makes raw system calls on data prepared
// before the fork: these functions are nosplit and write no pointers.
// Unlike it, the parent goes on while the child waits. Here the child runs
// on a copy of this goroutine's stack, in a copy of the parent's memory;
// on amd64 (in builds without the race detector or a sanitizer),
// forkDirectVM is used instead, whose child shares the parent's memory
// (CLONE_VM) and has a stack of its own.
//
//go:nosplit
//go:norace
func forkDirect(args *cloneArgs, sp *childSpec) (int, syscall.Errno) {
	r1, _, e := syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(args)), unsafe.Sizeof(*args), 0)
	if e != 0 {
		return 0, e
	}
	if r1 != 0 {
		return int(r1), 0
	}
	childMain(sp)
	return 0, 0 // not reached
}

//go:nosplit
//go:norace
func childMain(sp *childSpec) {
	if sp.pdeathsig {
		syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	}
	// Not dumpable until the exec (which resets it): no ptrace and no
	// /proc/1/mem of this copy of the starting program. A child sharing
	// the parent's memory is no copy (nothing in the container can see it
	// before the exec), and the flag is the memory map's.
	if !sp.sharedMemory {
		syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0)
	}
	for i := range sp.closeRanges {
		syscall.RawSyscall(unix.SYS_CLOSE_RANGE, sp.closeRanges[i][0], sp.closeRanges[i][1], 0)
	}
	var b [1]byte
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(sp.goFD), uintptr(unsafe.Pointer(&b[0])), 1)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n != 1 {
			syscall.RawSyscall(unix.SYS_EXIT_GROUP, 1, 0, 0)
		}
		break
	}
	errFD := uintptr(sp.errFD)
	if sp.cgroupNS {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWCGROUP, 0, 0); e != 0 {
			childFail(errFD, childStepCgroupNS, 0, e)
		}
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETSID, 0, 0, 0); e != 0 {
		childFail(errFD, childStepSetsid, 0, e)
	}
	errFD = childFDs(sp, errFD)
	childCreds(sp, errFD)
	if _, _, e := syscall.RawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(sp.dir)), 0, 0); e != 0 {
		childFail(errFD, childStepCwd, 0, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_CLOSE_RANGE, uintptr(len(sp.fds)), ^uintptr(0)>>32, unix.CLOSE_RANGE_CLOEXEC); e != 0 {
		childFail(errFD, childStepCloseRange, 0, e)
	}
	childSignals()
	if sp.seccomp != nil && sp.nnp {
		childSeccomp(sp, errFD)
	}
	_, _, e := syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(sp.path)),
		uintptr(unsafe.Pointer(&sp.argv[0])), uintptr(unsafe.Pointer(&sp.envp[0])))
	childFail(errFD, childStepExec, 0, e)
}

// childFDs moves the files to 0..n-1 (first out of the way of one
// another, then down), keeping errFD above them; it returns errFD.
//
//go:nosplit
//go:norace
func childFDs(sp *childSpec, errFD uintptr) uintptr {
	n := uintptr(len(sp.fds))
	if errFD < n {
		fd, _, e := syscall.RawSyscall(unix.SYS_FCNTL, errFD, unix.F_DUPFD_CLOEXEC, n)
		if e != 0 {
			childFail(errFD, childStepFDs, 0, e)
		}
		errFD = fd
	}
	for i := range sp.fds {
		if uintptr(sp.fds[i]) < n {
			fd, _, e := syscall.RawSyscall(unix.SYS_FCNTL, uintptr(sp.fds[i]), unix.F_DUPFD_CLOEXEC, n)
			if e != 0 {
				childFail(errFD, childStepFDs, uintptr(i), e)
			}
			sp.fds[i] = int(fd)
		}
	}
	for i := range sp.fds {
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, uintptr(sp.fds[i]), uintptr(i), 0); e != 0 {
			childFail(errFD, childStepFDs, uintptr(i), e)
		}
	}
	return errFD
}

// childCreds applies the limits, the bounding set, the user and groups and
// no_new_privs; a filter that cannot count on no_new_privs is loaded
// before the user switch takes CAP_SYS_ADMIN away.
//
//go:nosplit
//go:norace
func childCreds(sp *childSpec, errFD uintptr) {
	for i := range sp.rlimits {
		l := &sp.rlimits[i]
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, l.resource, uintptr(unsafe.Pointer(&l.limit)), 0, 0, 0); e != 0 {
			childFail(errFD, childStepRlimit, uintptr(i), e)
		}
	}
	for _, c := range sp.dropCaps {
		if _, _, e := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); e != 0 {
			childFail(errFD, childStepCaps, c, e)
		}
	}
	if sp.seccomp != nil && !sp.nnp {
		childSeccomp(sp, errFD)
	}
	var groups uintptr
	if len(sp.groups) > 0 {
		groups = uintptr(unsafe.Pointer(&sp.groups[0]))
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(sp.groups)), groups, 0); e != 0 {
		childFail(errFD, childStepGroups, 0, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESGID, sp.gid, sp.gid, sp.gid); e != 0 {
		childFail(errFD, childStepGID, 0, e)
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_SETRESUID, sp.uid, sp.uid, sp.uid); e != 0 {
		childFail(errFD, childStepUID, 0, e)
	}
	if sp.nnp {
		if _, _, e := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
			childFail(errFD, childStepNNP, 0, e)
		}
	}
}

//go:nosplit
//go:norace
func childSeccomp(sp *childSpec, errFD uintptr) {
	_, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(sp.seccomp)))
	if e != 0 {
		childFail(errFD, childStepSeccomp, 0, e)
	}
}

// childSignals gives every signal its default action and unblocks them
// all, as a freshly started process expects: none of the parent's
// handlers may run in the child, and execve keeps the mask.
//
//go:nosplit
//go:norace
func childSignals() {
	var act [4]uint64 // struct sigaction, all zero: SIG_DFL, no flags, empty mask
	for sig := uintptr(1); sig <= 64; sig++ {
		syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&act[0])), 0, 8, 0, 0)
	}
	var none uint64
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&none)), 0, 8, 0, 0)
}

// childFail reports the failed step to the parent and exits.
//
//go:nosplit
//go:norace
func childFail(errFD, step, index uintptr, e syscall.Errno) {
	rec := [3]uint32{uint32(step), uint32(index), uint32(e)}
	syscall.RawSyscall(unix.SYS_WRITE, errFD, uintptr(unsafe.Pointer(&rec[0])), unsafe.Sizeof(rec))
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}

// closeRangesExcept returns the ranges of descriptors from 0 up that are
// not in keep.
func closeRangesExcept(keep []int) [][2]uintptr {
	sorted := append([]int(nil), keep...)
	slices.Sort(sorted)
	var out [][2]uintptr
	next := 0
	for _, fd := range sorted {
		if fd > next {
			out = append(out, [2]uintptr{uintptr(next), uintptr(fd - 1)})
		}
		next = max(next, fd+1)
	}
	return append(out, [2]uintptr{uintptr(next), uintptr(^uint32(0))})
}
