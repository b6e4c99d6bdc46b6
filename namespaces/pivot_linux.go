package namespaces

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// pivot makes the rootfs "/" with pivot_root(2) and detaches the old root,
// or, where the old root is a ramfs or tmpfs that pivot_root refuses,
// moves the rootfs onto "/" and chroots into it.
func (s *setup) pivot() error {
	oldroot, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(oldroot)
	if err := unix.Fchdir(s.rootfd); err != nil {
		return &fs.PathError{Op: "chdir", Path: s.r.Path, Err: err}
	}
	err = unix.PivotRoot(".", ".")
	if errors.Is(err, unix.EINVAL) && rootIsRAM() {
		return s.moveRoot()
	}
	if err != nil {
		return &fs.PathError{Op: "pivot_root", Path: s.r.Path, Err: err}
	}
	// The old root is now mounted on top of the new one: detach it, after
	// making sure the detach does not propagate anywhere.
	if err := unix.Fchdir(oldroot); err != nil {
		return &fs.PathError{Op: "chdir", Path: "old root", Err: err}
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return &fs.PathError{Op: "mount rslave", Path: "old root", Err: err}
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &fs.PathError{Op: "umount", Path: "old root", Err: err}
	}
	return chdirRoot()
}

func chdirRoot() error {
	if err := unix.Chdir("/"); err != nil {
		return &fs.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// rootIsRAM reports whether "/" is on a ramfs or tmpfs, as an initramfs is.
func rootIsRAM() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return false
	}
	// f_type is 32 bits wide on 32-bit systems, and RAMFS_MAGIC's top bit is set.
	t := uint32(st.Type)
	return t == unix.RAMFS_MAGIC || t == unix.TMPFS_MAGIC
}

// moveRoot is the fallback for a ramfs "/": it detaches, as far as it can,
// every mount outside the rootfs, moves the rootfs mount onto "/" and
// chroots into it. The cwd is the rootfs.
func (s *setup) moveRoot() error {
	detachOutside(s.r.Path)
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return &fs.PathError{Op: "mount move", Path: s.r.Path, Err: err}
	}
	if err := unix.Chroot("."); err != nil {
		return &fs.PathError{Op: "chroot", Path: s.r.Path, Err: err}
	}
	return chdirRoot()
}

// detachOutside lazily unmounts the mounts that are neither the rootfs,
// inside it, nor above it, deepest first. Failures are ignored: a mount
// that stays is hidden under the rootfs once it is moved onto "/".
func detachOutside(rootfs string) {
	infos, err := readMountInfo()
	if err != nil {
		return
	}
	var points []string
	for _, m := range infos {
		if mp := m.MountPoint; !related(mp, rootfs) {
			points = append(points, mp)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, mp := range points {
		_ = unix.Unmount(mp, unix.MNT_DETACH)
	}
}

// related reports whether mount point mp is rootfs, below it, or above it.
func related(mp, rootfs string) bool {
	mp, rootfs = path.Clean(mp), path.Clean(rootfs)
	return mp == rootfs || mp == "/" ||
		strings.HasPrefix(mp, rootfs+"/") || strings.HasPrefix(rootfs, mp+"/")
}

// finishRoot sets the propagation of the new "/" and makes it read-only
// if asked.
func (s *setup) finishRoot() error {
	if err := unix.Mount("", "/", "", s.plan.propagation, ""); err != nil {
		return &fs.PathError{Op: "mount propagation", Path: "/", Err: err}
	}
	if !s.r.ReadOnly {
		return nil
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(fd)
	locked, atime, err := mountFlags(fd)
	if err != nil {
		return &fs.PathError{Op: "fstatfs", Path: "/", Err: err}
	}
	if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|locked|atime, ""); err != nil {
		return &fs.PathError{Op: "mount remount ro", Path: "/", Err: err}
	}
	return nil
}
