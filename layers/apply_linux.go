package layers

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// extractor holds the state of one Apply: the confined root, a cache of
// open parent directories, and what must be finished at the end.
type extractor struct {
	root     *inRoot
	opts     *ApplyOptions
	cache    map[string]int      // parent rel path -> O_PATH dir fd
	stale    []int               // fds dropped from cache, closed after the entry
	written  []string            // paths this layer created, in order
	wset     map[string]struct{} // written as a set, made when an opaque dir is pruned
	dirs     []dirMeta           // modes and times set last
	opaques  []string            // opaque dirs to prune (non-overlay mode)
	last     string              // name of the last entry read, for errors
	sgid     map[int]bool        // cached parent fd -> directory has setgid
	umask    int                 // the process umask, -1 if unknown
	euid     int
	egid     int
	rootReal string      // the root's path as /proc/self/fd shows it
	w        *fileWriter // writes regular files' content and metadata
}

type dirMeta struct {
	name         string
	mode         uint32
	atime, mtime time.Time
}

const maxCachedDirs = 256

func newExtractor(dir string, opts *ApplyOptions) (*extractor, error) {
	r, err := openInRoot(dir)
	if err != nil {
		return nil, err
	}
	x := &extractor{
		root:  r,
		opts:  opts,
		cache: make(map[string]int),
		sgid:  make(map[int]bool),
		umask: processUmask(),
		euid:  os.Geteuid(),
		egid:  os.Getegid(),
	}
	x.w = newFileWriter()
	return x, nil
}

func (x *extractor) close() error {
	_ = x.w.wait() // reported by run, unless run failed before
	x.flush()
	x.release()
	return x.root.close()
}

// flush forgets every cached parent fd. Called whenever something is
// removed or replaced, so no stale directory is written into by a later
// entry. The fds stay open until [extractor.release], as the current
// entry may still use them.
func (x *extractor) flush() {
	for k, fd := range x.cache {
		x.stale = append(x.stale, fd)
		delete(x.cache, k)
		delete(x.sgid, fd)
	}
}

func (x *extractor) release() {
	for _, fd := range x.stale {
		unix.Close(fd)
	}
	x.stale = x.stale[:0]
}

// parent returns an fd of the directory rel, creating missing directories
// (mode 0755) inside the root.
func (x *extractor) parent(rel string) (int, error) {
	if rel == "" {
		return x.root.fd, nil
	}
	if fd, ok := x.cache[rel]; ok {
		return fd, nil
	}
	fd, err := x.root.open(rel, unix.O_PATH|unix.O_DIRECTORY, false)
	if errors.Is(err, unix.ENOENT) {
		if err := x.mkdirAll(rel); err != nil {
			return -1, err
		}
		fd, err = x.root.open(rel, unix.O_PATH|unix.O_DIRECTORY, false)
	}
	if err != nil {
		return -1, err
	}
	if len(x.cache) >= maxCachedDirs {
		x.flush()
	}
	x.cache[rel] = fd
	var st unix.Stat_t
	x.sgid[fd] = unix.Fstat(fd, &st) != nil || st.Mode&unix.S_ISGID != 0
	return fd, nil
}

// mkdirAll creates the missing directories of rel one component at a
// time, each inside its resolved parent. A dangling symlink in the way is
// followed within the root, as mkdir -p would under chroot: its target is
// created instead.
func (x *extractor) mkdirAll(rel string) error {
	return x.mkdirAllHops(rel, 0)
}

func (x *extractor) mkdirAllHops(rel string, hops int) error {
	if hops > 40 {
		return &fs.PathError{Op: "mkdir", Path: rel, Err: unix.ELOOP}
	}
	dir, base := splitName(rel)
	pfd, err := x.parentHops(dir, hops)
	if err != nil {
		return err
	}
	err = unix.Mkdirat(pfd, base, 0o755)
	if err == nil {
		x.written = append(x.written, rel)
		return nil
	}
	if err != unix.EEXIST {
		return &fs.PathError{Op: "mkdirat", Path: rel, Err: err}
	}
	target, lerr := readlinkat(pfd, base)
	if lerr != nil {
		return nil // not a symlink: a directory, or a file the caller trips on
	}
	if !path.IsAbs(target) {
		real, err := x.realPath(pfd)
		if err != nil {
			return err
		}
		target = path.Join(real, target)
	}
	return x.mkdirAllHops(strings.TrimPrefix(path.Clean("/"+target), "/"), hops+1)
}

// parentHops is parent with a hop count carried through symlinks.
func (x *extractor) parentHops(rel string, hops int) (int, error) {
	if hops == 0 {
		return x.parent(rel)
	}
	if rel == "" {
		return x.root.fd, nil
	}
	if err := x.mkdirAllHops(rel, hops); err != nil {
		return -1, err
	}
	return x.parent(rel)
}

func readlinkat(dfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// realPath returns where directory fd really is, relative to the root.
func (x *extractor) realPath(fd int) (string, error) {
	if x.rootReal == "" {
		p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(x.root.fd))
		if err != nil {
			return "", err
		}
		x.rootReal = p
	}
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	if p == x.rootReal {
		return "", nil
	}
	rel, ok := strings.CutPrefix(p, x.rootReal+"/")
	if !ok {
		return "", fmt.Errorf("directory %q is not under the root %q: %w", p, x.rootReal, fs.ErrInvalid)
	}
	return rel, nil
}

// entry applies one tar entry.
func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	defer x.release()
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("root entry of type %q: %w", hdr.Typeflag, ErrInvalidEntry)
		}
		return x.dirMetadata(x.root.fd, ".", "", hdr)
	}
	dir, base := splitName(name)
	if w, ok := cutPrefix(base, whiteoutPrefix); ok {
		return x.whiteout(dir, w)
	}
	pfd, err := x.parent(dir)
	if err != nil {
		return err
	}
	if err := x.create(pfd, name, base, hdr, r); err != nil {
		return err
	}
	x.written = append(x.written, name)
	return nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

func (x *extractor) create(pfd int, name, base string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont:
		return x.regular(pfd, base, hdr, r)
	case tar.TypeDir:
		return x.directory(pfd, name, base, hdr)
	case tar.TypeSymlink:
		return x.symlink(pfd, base, hdr)
	case tar.TypeLink:
		return x.hardlink(pfd, name, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return x.special(pfd, base, hdr)
	}
	return fmt.Errorf("entry type %q: %w", hdr.Typeflag, ErrInvalidEntry)
}

// retryExisting runs fn; if it fails with EEXIST, the existing entry is
// removed (a directory with its content) and fn runs once more.
func (x *extractor) retryExisting(pfd int, base string, fn func() error) error {
	err := fn()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err := x.removeAll(pfd, base); err != nil {
		return err
	}
	return fn()
}

func (x *extractor) removeAll(pfd int, base string) error {
	x.flush()
	return removeAllAt(pfd, base)
}

func (x *extractor) regular(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	// Most files need no chmod (the mode survives the umask) and, as
	// root, no chown (the owner is ours): skip those two calls.
	mode, perm := tarMode(hdr), uint32(0o600)
	chmod := x.umask < 0 || mode&^0o777 != 0 || mode&uint32(x.umask) != 0
	if !chmod {
		perm = mode
	}
	chown := !x.opts.Unprivileged && (hdr.Uid != x.euid || hdr.Gid != x.egid || x.parentSgid(pfd))
	var fd int
	err := x.retryExisting(pfd, base, func() error {
		var err error
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		return err
	})
	if err != nil {
		return &fs.PathError{Op: "openat", Path: base, Err: err}
	}
	return x.w.write(fd, r, hdr.Size, &fileMeta{name: hdr.Name, uid: hdr.Uid, gid: hdr.Gid,
		mode: mode, chown: chown, chmod: chmod, xattrs: entryXattrs(hdr, x.opts.Unprivileged), times: tarTimes(hdr)})
}

// parentSgid reports whether the directory pfd is setgid (files in it
// get its group, not ours); the root and uncached fds are checked once.
func (x *extractor) parentSgid(pfd int) bool {
	sg, ok := x.sgid[pfd]
	if !ok {
		var st unix.Stat_t
		sg = unix.Fstat(pfd, &st) != nil || st.Mode&unix.S_ISGID != 0
		if pfd == x.root.fd {
			x.sgid[pfd] = sg
		}
	}
	return sg
}

// processUmask reads the umask from /proc/self/status (Linux 4.7+),
// without changing it; -1 if it cannot be read.
func processUmask() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return -1
			}
			return int(n)
		}
	}
	return -1
}

// tarMode returns the permission bits of hdr including setuid, setgid and
// sticky.
func tarMode(hdr *tar.Header) uint32 { return uint32(hdr.Mode) & 0o7777 }

func tarTimes(hdr *tar.Header) [2]unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return [2]unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
}

func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafePointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (x *extractor) directory(pfd int, name, base string, hdr *tar.Header) error {
	err := unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "fstatat", Path: name, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			err = x.retryExisting(pfd, base, func() error { return unix.Mkdirat(pfd, base, 0o700) })
		} else {
			err = nil
		}
	}
	if err != nil {
		return &fs.PathError{Op: "mkdirat", Path: name, Err: err}
	}
	return x.dirMetadata(pfd, base, name, hdr)
}

// dirMetadata sets owner and xattrs of a directory now, and queues its mode
// and times for the end, after its children exist.
func (x *extractor) dirMetadata(pfd int, base, name string, hdr *tar.Header) error {
	if !x.opts.Unprivileged {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "fchownat", Path: hdr.Name, Err: err}
		}
	}
	if xs := entryXattrs(hdr, x.opts.Unprivileged); len(xs) > 0 {
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &fs.PathError{Op: "openat", Path: hdr.Name, Err: err}
		}
		for k, v := range xs {
			if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil {
				unix.Close(fd)
				return &fs.PathError{Op: "setxattr " + k, Path: hdr.Name, Err: err}
			}
		}
		unix.Close(fd)
	}
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	x.dirs = append(x.dirs, dirMeta{name: name, mode: tarMode(hdr), atime: at, mtime: hdr.ModTime})
	return nil
}

func (x *extractor) symlink(pfd int, base string, hdr *tar.Header) error {
	if hdr.Linkname == "" || hdr.Linkname != cleanString(hdr.Linkname) {
		return fmt.Errorf("symlink target %q: %w", hdr.Linkname, ErrInvalidEntry)
	}
	err := x.retryExisting(pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) })
	if err != nil {
		return &fs.PathError{Op: "symlinkat", Path: hdr.Name, Err: err}
	}
	x.flush() // a cached path may now lead through this symlink
	return x.linkMetadata(pfd, base, hdr, false)
}

// cleanString rejects strings with NUL bytes by returning something else.
func cleanString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return ""
		}
	}
	return s
}

// linkMetadata sets owner, xattrs, mode (unless symlink) and times of a
// non-regular, non-directory entry by name in its parent.
func (x *extractor) linkMetadata(pfd int, base string, hdr *tar.Header, chmod bool) error {
	if !x.opts.Unprivileged {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "fchownat", Path: hdr.Name, Err: err}
		}
	}
	if chmod {
		if err := chmodNoFollow(pfd, base, tarMode(hdr)); err != nil {
			return &fs.PathError{Op: "chmod", Path: hdr.Name, Err: err}
		}
	}
	if xs := entryXattrs(hdr, x.opts.Unprivileged); len(xs) > 0 {
		p := "/proc/self/fd/" + strconv.Itoa(pfd) + "/" + base
		for k, v := range xs {
			if err := unix.Lsetxattr(p, k, []byte(v), 0); err != nil {
				return &fs.PathError{Op: "lsetxattr " + k, Path: hdr.Name, Err: err}
			}
		}
	}
	ts := tarTimes(hdr)
	if err := unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: hdr.Name, Err: err}
	}
	return nil
}

func (x *extractor) hardlink(pfd int, name, base string, hdr *tar.Header) error {
	target, err := cleanEntryName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	if target == "" || target == name {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, ErrInvalidEntry)
	}
	tdir, tbase := splitName(target)
	tfd, err := x.root.open(tdir, unix.O_PATH|unix.O_DIRECTORY, false)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	err = x.retryExisting(pfd, base, func() error { return unix.Linkat(tfd, tbase, pfd, base, 0) })
	if err != nil {
		return &fs.PathError{Op: "linkat", Path: hdr.Name, Err: err}
	}
	return nil
}

func (x *extractor) special(pfd int, base string, hdr *tar.Header) error {
	mode := tarMode(hdr)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	if x.opts.Unprivileged && hdr.Typeflag != tar.TypeFifo {
		return nil
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err := x.retryExisting(pfd, base, func() error { return unix.Mknodat(pfd, base, mode, dev) })
	if err != nil {
		return &fs.PathError{Op: "mknodat", Path: hdr.Name, Err: err}
	}
	return x.linkMetadata(pfd, base, hdr, true)
}

// chmodNoFollow sets the mode of the device or fifo base in directory
// pfd, never of what a symlink there would point to: it opens the node
// with O_PATH|O_NOFOLLOW (which neither blocks on a fifo nor opens a
// device), checks it is not a symlink, and changes the mode through the
// descriptor's /proc/self/fd link.
func chmodNoFollow(pfd int, base string, mode uint32) error {
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.ELOOP
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}
