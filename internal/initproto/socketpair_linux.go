package initproto

import (
	"golang.org/x/sys/unix"
	"io/fs"
	"os"
)

// Socketpair returns the two ends of a new AF_UNIX stream socketpair, both
// close-on-exec: the parent's end, and the child's, to be passed as an
// ExtraFile (which os/exec dups without close-on-exec).
func Socketpair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "socketpair", Path: "init", Err: err}
	}
	return os.NewFile(uintptr(fds[0]), "init-parent"), os.NewFile(uintptr(fds[1]), "init-child"), nil
}
