//go:build !amd64

package berth

import "syscall"

// cloneVM reports whether forkDirectVM exists on this architecture: only
// amd64 has its assembly; elsewhere the child is a copy (forkDirect).
const cloneVM = false

func forkDirectVM(*cloneArgs, *childSpec) (int, syscall.Errno) { return 0, syscall.ENOSYS }
