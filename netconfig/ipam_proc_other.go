//go:build !linux

package netconfig

import (
	"os"
	"syscall"
)

// processStart reports whether process pid exists; without /proc the start
// time is unknown and reported as 0.
func processStart(pid int) (uint64, bool) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return 0, false
	}
	err = p.Signal(syscall.Signal(0))
	return 0, err == nil || err == syscall.EPERM
}
