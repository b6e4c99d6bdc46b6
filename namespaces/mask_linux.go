package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// maskPaths hides each masked path that exists and include accepts: a directory under an empty
// read-only tmpfs, anything else under the host's /dev/null.
func (s *setup) maskPaths(include func(string) bool) error {
	for _, p := range s.r.MaskedPaths {
		if !include(p) {
			continue
		}
		fd, err := walk(s.rootfd, p, walkNoCreate, 0, true)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("masking %q: %w", p, err)
		}
		err = s.maskOne(fd, p)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *setup) maskOne(fd int, p string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: p, Err: err}
	}
	dir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if dir && s.r.MaskSource != nil && cloneMaskSource(s.r.MaskSource, fd) == nil {
		return nil
	}
	if s.noProcSelf {
		return maskByFD(fd, s.nullfd, p, dir)
	}
	if dir {
		flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("tmpfs", fdPath(fd), "tmpfs", flags, "mode=555"); err != nil {
			return &fs.PathError{Op: "mount tmpfs mask", Path: p, Err: err}
		}
		return nil
	}
	if err := unix.Mount(fdPath(s.nullfd), fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return &fs.PathError{Op: "mount bind /dev/null mask", Path: p, Err: err}
	}
	return nil
}

// cloneMaskSource mounts a clone of the mask source src onto the
// directory open as fd. It fails, having mounted nothing, where the kernel
// refuses to clone src.
func cloneMaskSource(src *os.File, fd int) error {
	rc, err := src.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(sfd uintptr) { err = cloneMountOnto(int(sfd), fd, src.Name()) }); cerr != nil {
		return cerr
	}
	return err
}

// cloneMountOnto mounts a clone of the mount open as src (named name in
// errors) onto the target open as fd.
func cloneMountOnto(src, fd int, name string) error {
	tree, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return &fs.PathError{Op: "open_tree", Path: name, Err: err}
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &fs.PathError{Op: "move_mount", Path: name, Err: err}
	}
	return nil
}

// NewMaskSource makes an empty directory mount for [RootFS.MaskSource]:
// a tmpfs whose superblock is read-only (no remount of a clone makes it
// writable), root directory mode 0555, mounted nowhere, nodev, nosuid,
// noexec. It needs CAP_SYS_ADMIN. The file may be passed to another
// process, which can clone it as long as the file is open.
func NewMaskSource() (*os.File, error) {
	fd, err := emptyTmpfs("555")
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "mask-source"), nil
}

// readOnlyPaths binds each read-only path that exists (and include
// accepts) onto itself and
// remounts it read-only, submounts included.
func (s *setup) readOnlyPaths(include func(string) bool) error {
	for _, p := range s.r.ReadOnlyPaths {
		if !include(p) {
			continue
		}
		fd, err := walk(s.rootfd, p, walkNoCreate, 0, true)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("making %q read-only: %w", p, err)
		}
		err = s.readOnlyOne(fd, p)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *setup) readOnlyOne(fd int, p string) error {
	err := cloneReadOnly(fd, p)
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	// Before Linux 5.12: bind, then remount.
	if err := unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &fs.PathError{Op: "mount bind", Path: p, Err: err}
	}
	return s.remountBind(p, fd, msRdonly, true)
}

// cloneReadOnly mounts a read-only copy of the mount tree at fd onto fd:
// a detached recursive clone (open_tree(2)) is made read-only, submounts
// included (mount_setattr(2)), before it is attached (move_mount(2)), so
// that it is never writable where it is seen and the target needs no
// second lookup. The clone keeps every other flag of the mounts it copies.
// It fails wrapping unix.ENOSYS before Linux 5.12.
func cloneReadOnly(fd int, p string) error {
	tree, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return &fs.PathError{Op: "open_tree", Path: p, Err: err}
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return &fs.PathError{Op: "mount_setattr", Path: p, Err: err}
	}
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &fs.PathError{Op: "move_mount", Path: p, Err: err}
	}
	return nil
}

// maskByFD masks the path open as fd with the new mount API, which needs
// no /proc/self: a detached read-only tmpfs for a directory, a clone of
// the /dev/null mount open as nullfd for anything else, moved onto fd.
func maskByFD(fd, nullfd int, p string, dir bool) error {
	if !dir {
		if err := cloneMountOnto(nullfd, fd, "/dev/null"); err != nil {
			return fmt.Errorf("masking %q: %w", p, err)
		}
		return nil
	}
	mfd, err := emptyTmpfs("555")
	if err != nil {
		return fmt.Errorf("tmpfs mask for %q: %w", p, err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &fs.PathError{Op: "move_mount mask", Path: p, Err: err}
	}
	return nil
}
