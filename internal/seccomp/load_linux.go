package seccomp

import (
	"errors"
	"io/fs"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Native returns the architecture of this build, or an error wrapping
// errors.ErrUnsupported where no filter is defined.
func Native() (Arch, error) {
	switch runtime.GOARCH {
	case "amd64":
		return Arch{Audit: unix.AUDIT_ARCH_X86_64, Syscalls: syscalls, X32: true}, nil
	case "arm64":
		return Arch{Audit: unix.AUDIT_ARCH_AARCH64, Syscalls: syscalls}, nil
	}
	return Arch{}, errors.ErrUnsupported
}

// Load installs the default filter for the capabilities caps on the
// calling thread only (no TSYNC): call it on the locked thread that then
// execs. It needs no_new_privs or CAP_SYS_ADMIN.
func Load(caps []int) error {
	fprog, err := Program(caps)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(fprog)), 0, 0); err != nil {
		return &fs.PathError{Op: "prctl PR_SET_SECCOMP", Path: "default profile", Err: err}
	}
	return nil
}

// programs caches Program's result per capability set.
var programs sync.Map // capability bit mask -> *unix.SockFprog

// Program returns the default filter for the capabilities caps, for this
// build's architecture, in the form seccomp(2) and prctl(2) take. It is
// built once per capability set (tens of microseconds) and shared: callers
// must not modify it. Safe for concurrent use.
func Program(caps []int) (*unix.SockFprog, error) {
	var key uint64
	for _, c := range caps {
		key |= 1 << uint(c)
	}
	if p, ok := programs.Load(key); ok {
		return p.(*unix.SockFprog), nil
	}
	arch, err := Native()
	if err != nil {
		return nil, err
	}
	prog, err := Build(arch, caps)
	if err != nil {
		return nil, err
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	p, _ := programs.LoadOrStore(key, &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]})
	return p.(*unix.SockFprog), nil
}
