package seccomp

import (
	"errors"
	"io/fs"
	"runtime"
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
	arch, err := Native()
	if err != nil {
		return err
	}
	prog, err := Build(arch, caps)
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		return &fs.PathError{Op: "prctl PR_SET_SECCOMP", Path: "default profile", Err: err}
	}
	runtime.KeepAlive(filter)
	return nil
}
