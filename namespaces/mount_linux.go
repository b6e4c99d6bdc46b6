package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOne performs one planned mount onto its target resolved in the root.
func (s *setup) mountOne(m plannedMount) error {
	if m.Type == "cgroup" && !m.opts.bind() {
		return s.mountCgroup(m)
	}
	if s.deferred(m) {
		fd, err := walk(s.rootfd, m.Target, walkMkdir, 0o755, true)
		if err != nil {
			return fmt.Errorf("mount on %q: %w", m.Target, err)
		}
		return unix.Close(fd)
	}
	create := walkMkdir
	if m.opts.bind() {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("bind mount on %q: %w", m.Target, err)
		}
		if !fi.IsDir() {
			create = walkMkdirFile
		}
	}
	fd, err := walk(s.rootfd, m.Target, create, 0o755, true)
	if err != nil {
		return fmt.Errorf("mount on %q: %w", m.Target, err)
	}
	defer unix.Close(fd)
	if m.opts.bind() {
		err = s.bindMount(m, fd)
	} else {
		err = s.mountFS(m, fd)
	}
	if err != nil {
		return err
	}
	return s.setPropagation(m.Target, fd, m.opts.propagation)
}

// bindMount binds m.Source onto the target open as fd, then remounts it
// with m's flags, if any.
func (s *setup) bindMount(m plannedMount, fd int) error {
	rec := m.opts.flags & msRec
	if err := unix.Mount(m.Source, fdPath(fd), "", unix.MS_BIND|rec, ""); err != nil {
		return &fs.PathError{Op: "mount bind " + m.Source, Path: m.Target, Err: err}
	}
	if extra := m.opts.flags &^ (msBind | msRec); extra != 0 {
		return s.remountBind(m.Target, fd, extra, rec != 0)
	}
	return nil
}

// mountFS mounts a new file system of m's type onto the target open as fd.
// Two fallbacks follow runc: sysfs, which a user namespace without its own
// network namespace may not mount, is bound from the host instead; devpts
// refused because gid= names an unmapped group is mounted without gid=.
func (s *setup) mountFS(m plannedMount, fd int) error {
	src := m.Source
	if src == "" {
		src = m.Type
	}
	flags := m.opts.flags &^ (msBind | msRec)
	err := unix.Mount(src, fdPath(fd), m.Type, flags, m.opts.data)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EPERM) && m.Type == "sysfs":
		if err := unix.Mount("/sys", fdPath(fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return &fs.PathError{Op: "mount bind /sys", Path: m.Target, Err: err}
		}
		return s.remountBind(m.Target, fd, flags, true)
	case errors.Is(err, unix.EINVAL) && m.Type == "devpts" && strings.Contains(m.opts.data, "gid="):
		err = unix.Mount(src, fdPath(fd), m.Type, flags, withoutOption(m.opts.data, "gid="))
	}
	if err != nil {
		return &fs.PathError{Op: "mount " + m.Type, Path: m.Target, Err: err}
	}
	return nil
}

// withoutOption drops the comma-separated words starting with prefix.
func withoutOption(data, prefix string) string {
	var keep []string
	for _, w := range strings.Split(data, ",") {
		if !strings.HasPrefix(w, prefix) {
			keep = append(keep, w)
		}
	}
	return strings.Join(keep, ",")
}

// setPropagation applies propagation changes to the mount now on target.
func (s *setup) setPropagation(target string, under int, props []uintptr) error {
	if len(props) == 0 {
		return nil
	}
	top, err := s.reopenMounted(target, under)
	if err != nil {
		return err
	}
	defer unix.Close(top)
	for _, p := range props {
		if err := unix.Mount("", fdPath(top), "", p, ""); err != nil {
			return &fs.PathError{Op: "mount propagation", Path: target, Err: err}
		}
	}
	return nil
}

// remountBind changes the flags of the bind mount now on target, whose
// mount point was open as under before the mount. It keeps the flags the
// kernel locks in a user namespace (nosuid, nodev, noexec and the atime
// flags of the source), and with recursive and ro makes the submounts
// read-only too (mount_setattr(2), Linux 5.12; skipped before).
func (s *setup) remountBind(target string, under int, flags uintptr, recursive bool) error {
	top, err := s.reopenMounted(target, under)
	if err != nil {
		return err
	}
	defer unix.Close(top)
	return remountFD(top, target, flags, recursive)
}

func remountFD(top int, target string, flags uintptr, recursive bool) error {
	locked, atime, err := mountFlags(top)
	if err != nil {
		return &fs.PathError{Op: "fstatfs", Path: target, Err: err}
	}
	flags |= locked
	if flags&(msAtimeMask|msNodiratime) == 0 {
		flags |= atime
	}
	if err := unix.Mount("", fdPath(top), "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
		return &fs.PathError{Op: "mount remount", Path: target, Err: err}
	}
	if recursive && flags&msRdonly != 0 {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		err := unix.MountSetattr(top, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
		if err != nil && !errors.Is(err, unix.ENOSYS) {
			return &fs.PathError{Op: "mount_setattr", Path: target, Err: err}
		}
	}
	return nil
}

// mountFlags returns the nosuid, nodev and noexec flags and the atime flags
// of the mount fd is on.
func mountFlags(fd int) (locked, atime uintptr, err error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return 0, 0, err
	}
	f := uintptr(st.Flags)
	locked = f & (unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC) // same values as MS_*
	if f&unix.ST_NOATIME != 0 {
		atime |= msNoatime
	}
	if f&unix.ST_NODIRATIME != 0 {
		atime |= msNodiratime
	}
	if f&unix.ST_RELATIME != 0 {
		atime |= msRelatime
	}
	return locked, atime, nil
}

// reopenMounted opens target again, now that something is mounted on it,
// and checks that what it finds is a mount other than the one under, the
// mount point as it was opened before mounting. So a later remount or
// propagation change applies to the new mount, not to whatever a swapped
// path would lead to.
func (s *setup) reopenMounted(target string, under int) (int, error) {
	top, err := walk(s.rootfd, target, walkNoCreate, 0, true)
	if err != nil {
		return -1, fmt.Errorf("reopening mount on %q: %w", target, err)
	}
	a, err1 := mountID(under)
	b, err2 := mountID(top)
	if err := errors.Join(err1, err2); err != nil {
		unix.Close(top)
		return -1, &fs.PathError{Op: "statx", Path: target, Err: err}
	}
	if a == b {
		unix.Close(top)
		return -1, &fs.PathError{Op: "reopen mount", Path: target, Err: errors.New("the new mount is not on the target")}
	}
	return top, nil
}

func mountID(fd int) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, err
	}
	return stx.Mnt_id, nil
}
