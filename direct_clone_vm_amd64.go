//go:build linux

package berth

import (
	"syscall"
	"unsafe"
)

// cloneVM reports whether forkDirectVM exists on this architecture.
const cloneVM = true

// clone3VM is in direct_clone_amd64.s.
//
//go:noescape
func clone3VM(args *cloneArgs, size uintptr, sp *childSpec) (pid uintptr, errno uintptr)

// forkDirectVM is forkDirect with CLONE_VM: the child runs childMain on
// its own stack (args.stack) in this process's memory, so the fork copies
// no page tables, the parent takes no copy-on-write faults, and the
// child's exec has no copy to tear down. See childSpec.sharedMemory for
// what the child must not do then.
//
//go:nosplit
//go:norace
func forkDirectVM(args *cloneArgs, sp *childSpec) (int, syscall.Errno) {
	pid, errno := clone3VM(args, unsafe.Sizeof(*args), sp)
	return int(pid), syscall.Errno(errno)
}
