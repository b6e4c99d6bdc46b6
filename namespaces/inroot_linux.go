package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// forceWalk makes openInRoot use the component walk even where openat2(2)
// works; tests set it to cover the fallback of old kernels.
var forceWalk atomic.Bool

// openat2Missing records that the kernel has no openat2(2) (before 5.6).
var openat2Missing atomic.Bool

// OpenInRoot opens unsafePath inside the directory root as if root were
// "/", with open(2) flags (O_CLOEXEC is always added). Neither "..", nor an
// absolute or relative symlink, nor a magic link under /proc, can lead out
// of root, and a component swapped for a symlink while the path is being
// resolved cannot either: resolution holds a descriptor on each directory
// (openat2(2) with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or, before Linux
// 5.6, one O_PATH|O_NOFOLLOW step per component). A final symlink is
// followed (inside root) unless flags holds O_NOFOLLOW. With O_CREAT, a
// missing file is created with mode 0644 (less the umask).
//
// Errors are *fs.PathError values; they wrap [fs.ErrNotExist] for a
// missing component and unix.ELOOP after more than 40 symlinks.
func OpenInRoot(root, unsafePath string, flags int) (*os.File, error) {
	rootfd, err := openRootDir(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootfd)
	fd, err := openInRoot(rootfd, unsafePath, flags)
	if err != nil {
		return nil, fmt.Errorf("opening %q in root %s: %w", unsafePath, root, err)
	}
	return os.NewFile(uintptr(fd), path.Join(root, path.Clean("/"+unsafePath))), nil
}

// MkdirAllInRoot creates the directory unsafePath inside root, with any
// missing parents, each with mode (less the umask), resolving the path as
// [OpenInRoot] does, and returns it opened with O_PATH. An existing
// directory is fine; an existing non-directory gives an error wrapping
// unix.ENOTDIR.
func MkdirAllInRoot(root, unsafePath string, mode fs.FileMode) (*os.File, error) {
	rootfd, err := openRootDir(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootfd)
	fd, err := walk(rootfd, unsafePath, walkMkdir, uint32(mode.Perm()), true)
	if err == nil {
		err = requireDir(fd, unsafePath)
	}
	if err != nil {
		return nil, fmt.Errorf("creating directory %q in root %s: %w", unsafePath, root, err)
	}
	return os.NewFile(uintptr(fd), path.Join(root, path.Clean("/"+unsafePath))), nil
}

func openRootDir(root string) (int, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	return fd, nil
}

func requireDir(fd int, unsafePath string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return &fs.PathError{Op: "fstat", Path: unsafePath, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return &fs.PathError{Op: "mkdir", Path: unsafePath, Err: unix.ENOTDIR}
	}
	return nil
}

// openInRoot opens unsafePath below rootfd; see OpenInRoot.
func openInRoot(rootfd int, unsafePath string, flags int) (int, error) {
	if !forceWalk.Load() && !openat2Missing.Load() {
		fd, err := openat2InRoot(rootfd, unsafePath, flags)
		if !errors.Is(err, unix.ENOSYS) {
			return fd, err
		}
		openat2Missing.Store(true)
	}
	return walkOpen(rootfd, unsafePath, flags)
}

func openat2InRoot(rootfd int, unsafePath string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE {
		how.Mode = 0o644
	}
	for range 64 { // EAGAIN: a rename raced with the lookup; try again
		fd, err := unix.Openat2(rootfd, unsafePath, &how)
		if err == nil {
			return fd, nil
		}
		if !errors.Is(err, unix.EAGAIN) {
			return -1, &fs.PathError{Op: "openat2", Path: unsafePath, Err: err}
		}
	}
	return -1, &fs.PathError{Op: "openat2", Path: unsafePath, Err: unix.EAGAIN}
}

// walkOpen is openInRoot by component walk: it resolves the path to an
// O_PATH descriptor, then reopens that with the wanted flags. With O_CREAT,
// the parent is resolved and the last component opened in it.
func walkOpen(rootfd int, unsafePath string, flags int) (int, error) {
	if flags&unix.O_CREAT != 0 {
		dir, base := path.Split(unsafePath)
		if base != "" && base != "." && base != ".." {
			fd, err := createIn(rootfd, dir, base, flags)
			if !errors.Is(err, unix.ELOOP) || flags&(unix.O_NOFOLLOW|unix.O_EXCL) != 0 {
				return fd, err
			}
			// base is a symlink to follow: open what it points to.
		}
	}
	fd, err := walk(rootfd, unsafePath, walkNoCreate, 0, flags&unix.O_NOFOLLOW == 0)
	if err != nil {
		return -1, err
	}
	if flags&unix.O_PATH != 0 {
		if flags&unix.O_DIRECTORY != 0 {
			return fd, requireDir(fd, unsafePath)
		}
		return fd, nil
	}
	defer unix.Close(fd)
	reopen := flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW)
	nfd, err := unix.Open(fdPath(fd), reopen|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: unsafePath, Err: err}
	}
	return nfd, nil
}

// createIn opens (with O_CREAT) base in the directory dir, resolved below
// rootfd, never following base itself.
func createIn(rootfd int, dir, base string, flags int) (int, error) {
	dirfd, err := walk(rootfd, dir, walkNoCreate, 0, true)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, base, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return -1, &fs.PathError{Op: "openat", Path: path.Join("/", dir, base), Err: err}
	}
	return fd, nil
}

// fdPath names the file open as fd through this process's /proc.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

type walkMode int

const (
	walkNoCreate  walkMode = iota // every component must exist
	walkMkdir                     // create missing components as directories
	walkMkdirFile                 // like walkMkdir, but the last one is an empty file (mode 0644)
)

// walk resolves unsafePath below rootfd as if rootfd were "/" and returns
// an O_PATH descriptor of the result. A final symlink is followed when
// followLast is set. Missing components are created as create says,
// directories with dirMode.
//
// Where openat(2) works, an existing path is resolved by the kernel in one
// call (RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); the component walk
// ([walkComponents]) is the fallback for old kernels and the way missing
// components are created.
func walk(rootfd int, unsafePath string, create walkMode, dirMode uint32, followLast bool) (int, error) {
	if !forceWalk.Load() && !openat2Missing.Load() {
		flags := unix.O_PATH
		if !followLast {
			flags |= unix.O_NOFOLLOW
		}
		p := unsafePath
		if p == "" {
			p = "."
		}
		fd, err := openat2InRoot(rootfd, p, flags)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.ENOSYS):
			openat2Missing.Store(true)
		case !errors.Is(err, unix.ENOENT) || create == walkNoCreate:
			return -1, err
		}
	}
	return walkComponents(rootfd, unsafePath, create, dirMode, followLast)
}

// walkComponents is walk by hand: it opens one component at a time with
// O_PATH|O_NOFOLLOW, so that no component can be swapped for a symlink
// between check and use. Symlinks are read and their targets resolved the
// same way (absolute ones from rootfd); ".." pops the stack of open
// directories and never goes above rootfd.
func walkComponents(rootfd int, unsafePath string, create walkMode, dirMode uint32, followLast bool) (int, error) {
	w := &walker{create: create, dirMode: dirMode}
	root, err := unix.FcntlInt(uintptr(rootfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "fcntl F_DUPFD_CLOEXEC", Path: "/", Err: err}
	}
	w.stack = []int{root}
	defer w.closeAll()
	remaining := unsafePath
	for {
		comp, rest := nextComponent(remaining)
		if comp == "" {
			return w.pop(), nil
		}
		last := isLastComponent(rest)
		if comp == ".." {
			if len(w.stack) > 1 {
				unix.Close(w.pop())
			}
			w.popName()
			remaining = rest
			continue
		}
		fd, err := w.open(comp, last)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, &fs.PathError{Op: "fstat", Path: w.logical(comp), Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK && (!last || followLast) {
			if remaining, err = w.followLink(fd, comp, rest); err != nil {
				return -1, err
			}
			continue
		}
		if !last && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			unix.Close(fd)
			return -1, &fs.PathError{Op: "openat", Path: w.logical(comp), Err: unix.ENOTDIR}
		}
		w.push(fd, comp)
		remaining = rest
	}
}

// walker is the state of one walk: the open directories from the root
// down, and their names, for error messages.
type walker struct {
	stack   []int
	names   []string
	links   int
	create  walkMode
	dirMode uint32
}

func (w *walker) top() int { return w.stack[len(w.stack)-1] }
func (w *walker) push(fd int, name string) {
	w.stack = append(w.stack, fd)
	w.names = append(w.names, name)
}

func (w *walker) pop() int {
	fd := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	return fd
}

func (w *walker) popName() {
	if len(w.names) > 0 {
		w.names = w.names[:len(w.names)-1]
	}
}

func (w *walker) closeAll() {
	for _, fd := range w.stack {
		unix.Close(fd)
	}
}

func (w *walker) logical(comp string) string {
	return "/" + path.Join(append(append([]string{}, w.names...), comp)...)
}

// open opens comp in the current directory with O_PATH|O_NOFOLLOW,
// creating it first if it is missing and the walk creates.
func (w *walker) open(comp string, last bool) (int, error) {
	const flags = unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(w.top(), comp, flags, 0)
	if errors.Is(err, unix.ENOENT) && w.create != walkNoCreate {
		if err := w.makeComponent(comp, last); err != nil {
			return -1, err
		}
		fd, err = unix.Openat(w.top(), comp, flags, 0)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "openat", Path: w.logical(comp), Err: err}
	}
	return fd, nil
}

// makeComponent creates the missing comp: an empty file if it is the last
// component of a walkMkdirFile walk, a directory otherwise. Losing a race
// to another creator is fine: the caller opens whatever is there, without
// following it.
func (w *walker) makeComponent(comp string, last bool) error {
	if last && w.create == walkMkdirFile {
		fd, err := unix.Openat(w.top(), comp, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			return unix.Close(fd)
		}
		if !errors.Is(err, unix.EEXIST) {
			return &fs.PathError{Op: "create", Path: w.logical(comp), Err: err}
		}
		return nil
	}
	if err := unix.Mkdirat(w.top(), comp, w.dirMode); err != nil && !errors.Is(err, unix.EEXIST) {
		return &fs.PathError{Op: "mkdir", Path: w.logical(comp), Err: err}
	}
	return nil
}

// followLink reads the symlink open as fd (and closes it) and returns the
// path left to resolve: the link's target followed by rest. An absolute
// target restarts from the root.
func (w *walker) followLink(fd int, comp, rest string) (string, error) {
	defer unix.Close(fd)
	if w.links++; w.links > maxSymlinks {
		return "", &fs.PathError{Op: "openat", Path: w.logical(comp), Err: unix.ELOOP}
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlinkat", Path: w.logical(comp), Err: err}
	}
	target := string(buf[:n])
	if strings.HasPrefix(target, "/") {
		for len(w.stack) > 1 {
			unix.Close(w.pop())
		}
		w.names = nil
	}
	return target + "/" + rest, nil
}

// nextComponent splits off the first component of p that is not empty or
// ".", and returns it with the rest; "" when there is none.
func nextComponent(p string) (comp, rest string) {
	for p != "" {
		comp, p, _ = strings.Cut(p, "/")
		if comp != "" && comp != "." {
			return comp, p
		}
	}
	return "", ""
}

// isLastComponent reports whether rest holds no further component.
func isLastComponent(rest string) bool {
	c, _ := nextComponent(rest)
	return c == ""
}
