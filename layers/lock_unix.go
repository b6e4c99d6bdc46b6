//go:build unix

package layers

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes a flock on f: exclusive or shared, failing at once with
// EWOULDBLOCK instead of waiting if nonblock is set.
func lockFile(f *os.File, exclusive, nonblock bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if nonblock {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	}
}

func unlockFile(f *os.File) error {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}
