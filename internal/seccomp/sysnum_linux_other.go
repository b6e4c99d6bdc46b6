//go:build linux && !amd64 && !arm64

package seccomp

// syscalls is empty where Berth has no table: Native refuses these.
var syscalls map[string]uint32
