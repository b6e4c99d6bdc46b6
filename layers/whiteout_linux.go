package layers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// whiteout handles .wh.NAME (w == NAME) in directory dir: the opaque
// marker .wh..wh..opq, other .wh..wh. metadata (aufs; ignored), and plain
// whiteouts.
func (x *extractor) whiteout(dir, w string) error {
	if w == opaqueMarker[len(whiteoutPrefix):] {
		return x.opaque(dir)
	}
	if _, ok := cutPrefix(w, whiteoutPrefix); ok {
		return nil
	}
	if w == "" || w == "." || w == ".." {
		return fmt.Errorf("whiteout of %q: %w", w, ErrInvalidEntry)
	}
	pfd, err := x.parent(dir)
	if err != nil {
		return err
	}
	if err := x.removeAll(pfd, w); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	if !x.opts.OverlayWhiteouts {
		return nil
	}
	if err := unix.Mknodat(pfd, w, unix.S_IFCHR, 0); err != nil {
		return &fs.PathError{Op: "mknodat", Path: path.Join(dir, w), Err: err}
	}
	x.written = append(x.written, path.Join(dir, w))
	return nil
}

// opaque handles the opaque marker of dir. A dir reached through a
// symlink is taken where the symlink leads (inside the root).
func (x *extractor) opaque(dir string) error {
	pfd, err := x.parent(dir)
	if err != nil {
		return err
	}
	if dir, err = x.realPath(pfd); err != nil {
		return err
	}
	x.opaques = append(x.opaques, dir)
	if !x.opts.OverlayWhiteouts {
		return nil
	}
	fd, err := x.root.open(dir, unix.O_RDONLY|unix.O_DIRECTORY, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return &fs.PathError{Op: "setxattr trusted.overlay.opaque", Path: dir, Err: err}
	}
	return nil
}

// finish prunes opaque directories and sets directory modes and times,
// deepest first.
func (x *extractor) finish() error {
	for _, d := range x.opaques {
		if err := x.prune(d); err != nil {
			return fmt.Errorf("opaque directory %q: %w", d, err)
		}
	}
	x.flush()
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.finishDir(x.dirs[i]); err != nil {
			return fmt.Errorf("directory %q: %w", x.dirs[i].name, err)
		}
	}
	return nil
}

func (x *extractor) finishDir(d dirMeta) error {
	fd, err := x.root.open(d.name, unix.O_RDONLY|unix.O_DIRECTORY, true)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return nil // removed or replaced by a later entry
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, d.mode); err != nil {
		return &fs.PathError{Op: "fchmod", Path: d.name, Err: err}
	}
	ts := [2]unix.Timespec{unix.NsecToTimespec(d.atime.UnixNano()), unix.NsecToTimespec(d.mtime.UnixNano())}
	if err := futimens(fd, &ts); err != nil {
		return &fs.PathError{Op: "futimens", Path: d.name, Err: err}
	}
	return nil
}

// prune removes from directory rel every child this layer did not write,
// recursing into the written subdirectories.
func (x *extractor) prune(rel string) error {
	fd, err := x.root.open(rel, unix.O_RDONLY|unix.O_DIRECTORY, true)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		child := path.Join(rel, n)
		if _, ok := x.writtenSet()[child]; !ok {
			if err := x.removeAll(fd, n); err != nil {
				return err
			}
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "fstatat", Path: child, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := x.prune(child); err != nil {
				return err
			}
		}
	}
	return nil
}

// writtenSet returns the paths this layer created as a set.
func (x *extractor) writtenSet() map[string]struct{} {
	if x.wset == nil {
		x.wset = make(map[string]struct{}, len(x.written))
		for _, p := range x.written {
			x.wset[p] = struct{}{}
		}
	}
	return x.wset
}

// removeAllAt removes name in directory dfd, with its content if it is a
// directory. Nothing is followed: symlinks are removed, not traversed.
func removeAllAt(dfd int, name string) error {
	err := unix.Unlinkat(dfd, name, 0)
	if err == nil {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return &fs.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	fd, oerr := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if oerr == unix.ENOENT { // removed meanwhile
		return &fs.PathError{Op: "openat", Path: name, Err: oerr}
	}
	if oerr != nil {
		return &fs.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	names, rerr := f.Readdirnames(-1)
	if rerr == nil {
		rerr = removeChildren(fd, names)
	}
	if rerr != nil && errors.Is(rerr, unix.EACCES) {
		// An unwritable directory (an unprivileged caller's 0555):
		// make it writable and try once more.
		if unix.Fchmod(fd, 0o700) == nil {
			rerr = removeChildren(fd, names)
		}
	}
	f.Close()
	if rerr != nil {
		return rerr
	}
	if err := unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR); err != nil {
		return &fs.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

// removeChildren removes names in directory dfd; one that is already gone
// is skipped.
func removeChildren(dfd int, names []string) error {
	for _, n := range names {
		if err := removeAllAt(dfd, n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
