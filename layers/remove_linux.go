package layers

import (
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// removeTree removes path and everything under it without following
// symlinks, making unwritable directories writable on the way (trees
// extracted unprivileged may hold 0555 directories). It wraps
// fs.ErrNotExist if path is missing.
func removeTree(path string) error {
	dir, base := filepath.Split(filepath.Clean(path))
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	return removeAllAt(dfd, base)
}
