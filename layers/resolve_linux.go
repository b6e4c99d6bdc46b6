package layers

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// inRoot opens directories by paths confined to a root directory:
// openat2(RESOLVE_IN_ROOT) where the kernel has it (Linux 5.6+), os.Root
// (which rejects escaping symlinks instead of scoping them) otherwise.
type inRoot struct {
	dir    string
	fd     int      // O_PATH fd of dir
	osRoot *os.Root // fallback when openat2 is missing
}

// noOpenat2 forces the os.Root fallback, for tests.
var noOpenat2 = false

func openInRoot(dir string) (*inRoot, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	r := &inRoot{dir: dir, fd: fd}
	if noOpenat2 || !haveOpenat2(fd) {
		if r.osRoot, err = os.OpenRoot(dir); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	return r, nil
}

func haveOpenat2(fd int) bool {
	nfd, err := unix.Openat2(fd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM)
	}
	unix.Close(nfd)
	return true
}

// open opens rel (slash-separated, relative, clean; "" is the root) with
// flags, resolving every symlink inside the root. With nofollow the last
// component must not be a symlink. The caller closes the fd, except
// with the os.Root fallback, where fds stay owned by r until r.close.
func (r *inRoot) open(rel string, flags int, nofollow bool) (int, error) {
	if rel == "" {
		rel = "."
	}
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	if r.osRoot != nil {
		return r.openFallback(rel, flags)
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == unix.EAGAIN || err == unix.EINTR {
			continue // a concurrent rename raced the lookup
		}
		if err != nil {
			return -1, &fs.PathError{Op: "openat2", Path: filepath.Join(r.dir, rel), Err: err}
		}
		return fd, nil
	}
}

func (r *inRoot) openFallback(rel string, flags int) (int, error) {
	if flags&unix.O_PATH != 0 {
		flags = flags&^unix.O_PATH | unix.O_RDONLY
	}
	f, err := r.osRoot.OpenFile(rel, flags, 0)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return -1, &fs.PathError{Op: "dup", Path: rel, Err: err}
	}
	return fd, nil
}

func (r *inRoot) close() error {
	var err error
	if r.osRoot != nil {
		err = r.osRoot.Close()
	}
	return errors.Join(err, unix.Close(r.fd))
}
