package layers

import (
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openTmpfile opens an anonymous file in dir (O_TMPFILE).
func openTmpfile(dir string) (*os.File, error) {
	if forceNamedTemp {
		return nil, unix.EOPNOTSUPP
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &fs.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir+"/(tmpfile)"), nil
}

// forceNamedTemp makes openTmpfile fail, so tests can exercise the named
// fallback.
var forceNamedTemp = false

// linkTmpfile gives the anonymous file f the name dst. It wraps
// fs.ErrExist if dst exists.
func linkTmpfile(f *os.File, dst string) error {
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &fs.PathError{Op: "linkat", Path: dst, Err: err}
	}
	return nil
}
