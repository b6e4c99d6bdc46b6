package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cfile is a control file whose NUL-terminated path is built once, so
// that reading it allocates nothing.
type cfile struct {
	path  string
	cpath *byte
	short bool // a short read is the end of the file (cgroupfs)
}

func newCFile(dir, name string, fake bool) cfile {
	p := filepath.Join(dir, name)
	cp, err := unix.BytePtrFromString(p)
	if err != nil { // a NUL byte: groupPath rejects it, so only a bad root gets here
		return cfile{path: p}
	}
	return cfile{path: p, cpath: cp, short: !fake}
}

// open opens the file for reading. A missing file returns unix.ENOENT
// unwrapped (no allocation); other failures are *fs.PathError.
func (f cfile) open() (int, error) {
	if f.cpath == nil {
		return -1, &fs.PathError{Op: "open", Path: f.path, Err: unix.EINVAL}
	}
	fd, err := openRead(f.cpath)
	for err == unix.EINTR {
		fd, err = openRead(f.cpath)
	}
	switch {
	case err == unix.ENOENT:
		return -1, unix.ENOENT
	case err != nil:
		return -1, &fs.PathError{Op: "open", Path: f.path, Err: err}
	}
	return fd, nil
}

// readAt reads the whole file from offset 0 through fd into buf, growing
// it when the file is larger. Reading a cgroup file at offset 0 makes the
// kernel render it afresh, so an fd can be kept and read again. Errors
// are the bare errno.
func (f cfile) readAt(fd int, buf []byte) ([]byte, error) {
	n := 0
	for {
		if n == len(buf) {
			bigger := make([]byte, 2*len(buf)+4096)
			copy(bigger, buf[:n])
			buf = bigger
		}
		m, err := unix.Pread(fd, buf[n:], int64(n))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case m == 0:
			return buf[:n], nil
		}
		n += m
		if n < len(buf) && f.short {
			// cgroupfs files are seq_files, which fill the caller's buffer
			// until the end: a short read is the end, and the read that
			// would return 0 can be saved.
			return buf[:n], nil
		}
	}
}

// openRead is openat(AT_FDCWD, path, O_RDONLY|O_CLOEXEC) on a prepared
// path, which unix.Open would copy on every call.
func openRead(path *byte) (int, error) {
	atFDCWD := unix.AT_FDCWD
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// writer writes control files. On a fake tree it creates missing files.
type writer struct {
	fake bool
}

// write writes val to dir/name in one write(2), as the kernel expects.
// It uses bare system calls: os.OpenFile would add an fstat, two fcntls
// and an epoll registration to each of the dozens of control file
// writes a container's start makes.
func (w writer) write(dir, name, val string) error {
	flag := unix.O_WRONLY | unix.O_TRUNC | unix.O_CLOEXEC
	if w.fake {
		flag |= unix.O_CREAT
	}
	p := filepath.Join(dir, name)
	fd, err := retryEINTR(func() (int, error) { return unix.Open(p, flag, 0o644) })
	if err != nil {
		return fmt.Errorf("writing %q: %w", val, &fs.PathError{Op: "open", Path: p, Err: err})
	}
	_, err = retryEINTR(func() (int, error) { return unix.Write(fd, []byte(val)) })
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		return fmt.Errorf("writing %q: %w", val, &fs.PathError{Op: "close", Path: p, Err: cerr})
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", val, &fs.PathError{Op: "write", Path: p, Err: err})
	}
	return nil
}

// open opens dir/name for writing, as write does, and keeps it open.
func (w writer) open(dir, name string) (int, error) {
	flag := unix.O_WRONLY | unix.O_CLOEXEC
	if w.fake {
		flag |= unix.O_CREAT
	}
	p := filepath.Join(dir, name)
	fd, err := retryEINTR(func() (int, error) { return unix.Open(p, flag, 0o644) })
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return fd, nil
}

// retryEINTR calls fn until it fails with something other than EINTR.
func retryEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// readString reads dir/name for the rarely read files (not stats).
func readString(dir, name string) (string, error) {
	b, err := readSmall(filepath.Join(dir, name))
	return string(b), err
}

// readSmall reads a whole control file with bare system calls (see
// writer.write). Failures are *fs.PathError.
func readSmall(p string) ([]byte, error) {
	fd, err := retryEINTR(func() (int, error) { return unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0) })
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := retryEINTR(func() (int, error) { return unix.Read(fd, buf[len(buf):cap(buf)]) })
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// readPids parses a cgroup.procs file: one PID a line.
func readPids(dir string) ([]int, error) {
	name := filepath.Join(dir, "cgroup.procs")
	data, err := readSmall(name)
	if err != nil {
		return nil, err
	}
	var pids []int
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(line) == 0 {
			continue
		}
		pid, err := strconv.Atoi(string(line))
		if err != nil || pid <= 0 {
			return nil, parseErr(name, n, line, strconv.ErrSyntax)
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids, nil
}

// subtreePids lists the processes of dir and every group below it. A
// directory whose link count is 2 has no subdirectory (cgroupfs, like
// tmpfs and ext4, counts one link per child directory), so its own
// cgroup.procs is the whole answer, without listing its control files.
func subtreePids(dir string) ([]int, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err == nil && st.Nlink == 2 {
		pids, err := readPids(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // removed meanwhile
		}
		return pids, err
	}
	var all []int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		pids, err := readPids(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		all = append(all, pids...)
		return err
	})
	slices.Sort(all)
	return slices.Compact(all), err
}

// removeTree removes dir and the groups below it, deepest first. rmdir is
// the only way to remove a group; the control files go with it. On a fake
// tree, files are removed first. A missing dir is not an error.
//
// On a real tree it tries rmdir first: a group with no child groups goes
// at once, without listing its control files (a v1 memory group has
// dozens); only when that fails busy does it walk down for children.
func removeTree(dir string, fake bool) error {
	if !fake {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY && err != unix.ENOTEMPTY {
			return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
		}
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			err = removeTree(p, fake)
		case fake:
			err = os.Remove(p)
		}
		if err != nil {
			return err
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
