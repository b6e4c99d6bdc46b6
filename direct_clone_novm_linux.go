//go:build !amd64

package berth

import "syscall"

// cloneVM reports whether forkDirectVM exists on this architecture: only
// amd64 has its assembly; elsewhere the child is a copy (forkDirect).
const cloneVM = false

// forkDirectVM is not called here: childStack gives no stack where cloneVM
// is false, and fork then uses forkDirect. It fails with ENOSYS.
func forkDirectVM(*cloneArgs, *childSpec) (int, syscall.Errno) { return 0, syscall.ENOSYS }
