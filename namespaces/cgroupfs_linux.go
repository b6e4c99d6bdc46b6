package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// hostCgroupDir is where the host mounts its cgroup hierarchies.
const hostCgroupDir = "/sys/fs/cgroup"

// mountCgroup gives the container its view of the cgroup hierarchies at
// m.Target: on a unified host one cgroup2 mount; on a v1 or hybrid host a
// tmpfs holding one mount per host hierarchy (and the cgroup2 one of a
// hybrid host), with links for co-mounted controllers ("cpu" ->
// "cpu,cpuacct"). For a read-only view of one group (an absolute Source)
// that tmpfs is a read-only clone of the host's own (cloneHostCgroupDir). In a cgroup namespace each shows the container's own
// cgroup as its root. A hierarchy the kernel refuses to mount with EPERM
// (cgroup v1 in a user namespace) is left as an empty directory.
func (s *setup) mountCgroup(m plannedMount) error {
	hier, err := hostCgroupHierarchies()
	if err != nil {
		return fmt.Errorf("cgroup mount on %q: %w", m.Target, err)
	}
	fd, err := walk(s.rootfd, m.Target, walkMkdir, 0o755, true)
	if err != nil {
		return fmt.Errorf("cgroup mount on %q: %w", m.Target, err)
	}
	defer unix.Close(fd)
	flags := m.opts.flags &^ (msBind | msRec)
	if len(hier) == 1 && hier[0].MountPoint == hostCgroupDir && hier[0].FSType == "cgroup2" {
		if path.IsAbs(m.Source) {
			return s.bindCgroupDir(fd, m.Target, path.Join(hostCgroupDir, m.Source), flags)
		}
		err := unix.Mount("cgroup2", fdPath(fd), "cgroup2", flags, "")
		if err != nil && !errors.Is(err, unix.EPERM) {
			return &fs.PathError{Op: "mount cgroup2", Path: m.Target, Err: err}
		}
		return nil
	}
	return s.mountCgroupV1(m, fd, flags, hier)
}

func (s *setup) mountCgroupV1(m plannedMount, fd int, flags uintptr, hier []mountInfo) error {
	if flags&msRdonly != 0 && path.IsAbs(m.Source) {
		if done, err := s.cloneHostCgroupDir(m, fd, flags, hier); done || err != nil {
			return err
		}
	}
	tmpfsFlags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("tmpfs", fdPath(fd), "tmpfs", tmpfsFlags, "mode=755"); err != nil {
		return &fs.PathError{Op: "mount tmpfs", Path: m.Target, Err: err}
	}
	top, err := s.reopenMounted(m.Target, fd)
	if err != nil {
		return err
	}
	defer unix.Close(top)
	for _, h := range hier {
		if err := s.mountHierarchy(top, m.Target, m.Source, h, flags); err != nil {
			return err
		}
	}
	if flags&msRdonly != 0 {
		return remountFD(top, m.Target, msRdonly|tmpfsFlags, false)
	}
	return nil
}

// cloneHostCgroupDir makes a read-only view of the container's own
// cgroups from a read-only clone of the host's /sys/fs/cgroup tmpfs, whose
// directories are the hierarchies' mount points (and whose links name
// co-mounted controllers): each gets the container's cgroup directory
// bound onto it. Unlike a tmpfs of the container's own, this costs no
// superblock, inodes or directories per container, only a mount. The
// clone is private (nothing mounted on it reaches the host) and
// read-only, so the container cannot write to the host's tmpfs. It
// reports false, having changed nothing, where the host's /sys/fs/cgroup
// is not a tmpfs with a directory for every hierarchy, or the kernel
// cannot clone it (before Linux 5.12): the caller then mounts a tmpfs.
func (s *setup) cloneHostCgroupDir(m plannedMount, fd int, flags uintptr, hier []mountInfo) (bool, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, hostCgroupDir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return false, nil
	}
	defer unix.Close(tree)
	if !hostCgroupDirUsable(tree, hier) {
		return false, nil
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
		Propagation: unix.MS_PRIVATE}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return false, nil
	}
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return false, nil
	}
	top, err := s.reopenMounted(m.Target, fd)
	if err != nil {
		return true, err
	}
	defer unix.Close(top)
	for _, h := range hier {
		name := path.Base(h.MountPoint)
		where := path.Join(m.Target, name)
		sub, err := walk(top, name, walkNoCreate, 0, false)
		if err != nil {
			return true, fmt.Errorf("cgroup mount on %q: %w", where, err)
		}
		err = s.bindCgroupDir(sub, where, path.Join(h.MountPoint, m.Source), flags)
		unix.Close(sub)
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

// hostCgroupDirUsable reports whether the clone of the host's
// /sys/fs/cgroup open as tree is a tmpfs with a directory for each
// hierarchy in hier.
func hostCgroupDirUsable(tree int, hier []mountInfo) bool {
	var sfs unix.Statfs_t
	if unix.Fstatfs(tree, &sfs) != nil || uint32(sfs.Type) != unix.TMPFS_MAGIC {
		return false
	}
	for _, h := range hier {
		var st unix.Stat_t
		if path.Dir(h.MountPoint) != hostCgroupDir ||
			unix.Fstatat(tree, path.Base(h.MountPoint), &st, unix.AT_SYMLINK_NOFOLLOW) != nil ||
			st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return false
		}
	}
	return true
}

// mountHierarchy mounts host hierarchy h in the directory of its name below
// the tmpfs open as top.
func (s *setup) mountHierarchy(top int, target, source string, h mountInfo, flags uintptr) error {
	name := path.Base(h.MountPoint)
	where := path.Join(target, name)
	// top is the tmpfs just mounted: make the directory, then open it.
	if err := unix.Mkdirat(top, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return &fs.PathError{Op: "mkdir", Path: where, Err: err}
	}
	sub, err := walk(top, name, walkNoCreate, 0, false)
	if err != nil {
		return fmt.Errorf("cgroup mount on %q: %w", where, err)
	}
	defer unix.Close(sub)
	if path.IsAbs(source) {
		err = s.bindCgroupDir(sub, where, path.Join(h.MountPoint, source), flags)
	} else {
		err = mountCgroupFS(sub, where, h, flags)
	}
	if err != nil {
		return err
	}
	if !strings.Contains(name, ",") {
		return nil
	}
	for _, ctrl := range strings.Split(name, ",") {
		err := unix.Symlinkat(name, top, ctrl)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &fs.PathError{Op: "symlink", Path: path.Join(target, ctrl), Err: err}
		}
	}
	return nil
}

// mountCgroupFS mounts hierarchy h onto the directory open as fd: in a
// cgroup namespace its root is the namespace's. EPERM (cgroup v1 in a user
// namespace) leaves the directory empty.
func mountCgroupFS(fd int, where string, h mountInfo, flags uintptr) error {
	data := ""
	if h.FSType == "cgroup" {
		data = cgroupV1Options(h.SuperOptions)
	}
	err := unix.Mount("cgroup", fdPath(fd), h.FSType, flags, data)
	if err != nil && !errors.Is(err, unix.EPERM) {
		return &fs.PathError{Op: "mount " + h.FSType, Path: where, Err: err}
	}
	return nil
}

// bindCgroupDir binds the host's cgroup directory dir onto the directory
// open as fd (where, inside the root), then remounts it with flags
// (read-only, nosuid...): the view of one cgroup whatever the caller's
// cgroup namespace. A dir missing in this hierarchy leaves the target
// empty.
func (s *setup) bindCgroupDir(fd int, where, dir string, flags uintptr) error {
	err := unix.Mount(dir, fdPath(fd), "", unix.MS_BIND, "")
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "mount bind " + dir, Path: where, Err: err}
	}
	if flags&^msRec == 0 {
		return nil
	}
	return s.remountBind(where, fd, flags&^msRec, false)
}

// cgroupV1Options keeps the options that pick a v1 hierarchy: its
// controllers and name=. It drops rw/ro, flags, and release_agent=, which
// a container must never set (CVE-2022-0492).
func cgroupV1Options(super []string) string {
	drop := []string{"rw", "ro", "xattr", "clone_children", "noprefix", "cpuset_v2_mode",
		"favordynmods", "nofavordynmods", "memory_localevents", "memory_recursiveprot"}
	var keep []string
	for _, o := range super {
		if slices.Contains(drop, o) || (strings.Contains(o, "=") && !strings.HasPrefix(o, "name=")) {
			continue
		}
		keep = append(keep, o)
	}
	return strings.Join(keep, ",")
}

// hostHierarchies caches hostCgroupHierarchies' first success: a host
// does not remount its cgroup hierarchies while it runs containers, and
// the mount table is the largest file a start reads.
var hostHierarchies struct {
	sync.Mutex
	list []mountInfo
}

// PrepareCgroupView reads what a "cgroup" mount of Setup binds from, the
// host's cgroup hierarchies, which it reads once per process: a caller
// with time to spare before Setup (on any thread that sees the host's
// mounts) can read them ahead, off Setup's path. It is safe for
// concurrent use.
func PrepareCgroupView() error {
	_, err := hostCgroupHierarchies()
	return err
}

// hostCgroupHierarchies lists the cgroup and cgroup2 mounts at or directly
// below /sys/fs/cgroup in this mount namespace, read once per process.
func hostCgroupHierarchies() ([]mountInfo, error) {
	hostHierarchies.Lock()
	defer hostHierarchies.Unlock()
	if hostHierarchies.list != nil {
		return hostHierarchies.list, nil
	}
	list, err := readCgroupHierarchies()
	if err == nil && len(list) > 0 {
		hostHierarchies.list = list
	}
	return list, err
}

func readCgroupHierarchies() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := parseMountInfoOf(f, []string{"cgroup", "cgroup2"})
	if err != nil {
		return nil, err
	}
	return cgroupHierarchies(all), nil
}

// readMountInfo reads this process's mount table.
func readMountInfo() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountInfo(f)
}

func cgroupHierarchies(all []mountInfo) []mountInfo {
	var out []mountInfo
	seen := map[string]bool{}
	for _, m := range all {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		if m.MountPoint != hostCgroupDir && path.Dir(m.MountPoint) != hostCgroupDir {
			continue
		}
		if seen[m.MountPoint] { // mounted over: the last one is visible
			out = slices.DeleteFunc(out, func(o mountInfo) bool { return o.MountPoint == m.MountPoint })
		}
		seen[m.MountPoint] = true
		out = append(out, m)
	}
	return out
}
