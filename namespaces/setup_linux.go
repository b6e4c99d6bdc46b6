package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Setup builds the root file system r describes and makes it the calling
// process's "/", in this order:
//
//  1. make every mount rslave, so nothing below reaches the host;
//  2. bind-mount Path onto itself (recursively), so it is a mount point;
//  3. perform Mounts in order (a "cgroup" mount as [MountSpec.Type] says);
//  4. create Devices, and the /dev links (ptmx, fd, stdin, stdout, stderr);
//  5. mask MaskedPaths, then make ReadOnlyPaths read-only;
//  6. pivot_root into Path and detach the old root; where pivot_root cannot
//     work because "/" is a ramfs or tmpfs (an initramfs, or a chroot in
//     one), move Path onto "/" with MS_MOVE and chroot(2) into it instead;
//  7. chdir("/"), apply Propagation to "/", and remount "/" read-only if
//     ReadOnly.
//
// Every path inside the rootfs is resolved with Path as "/" and through
// descriptors ([OpenInRoot]): a symlink in the rootfs, or one swapped in
// during Setup, cannot redirect a mount, a node or a mask to the host.
// Mounts are made onto /proc/self/fd/N of the resolved target.
//
// Setup must run in a process that has its own mount namespace (see
// [Command] with [Mount]) and CAP_SYS_ADMIN in it, on a locked OS thread,
// and that exits if Setup fails: the mounts of a failed Setup stay in the
// namespace, and Setup does not remove the directories and files it
// created in Path as mount targets. It changes the process-wide umask
// while it runs and restores it. The MS_MOVE fallback is weaker than
// pivot_root: the old root stays reachable to a process that can call
// chroot(2), so drop CAP_SYS_CHROOT in such containers.
//
// Errors name the step and the path; a bad description wraps
// [fs.ErrInvalid] and is reported before anything is changed. Mount
// failures are *fs.PathError values wrapping the errno.
func (r *RootFS) Setup() error {
	p, err := r.validate()
	if err != nil {
		return fmt.Errorf("rootfs setup: %w", err)
	}
	oldMask := unix.Umask(0)
	defer unix.Umask(oldMask)
	s := &setup{r: r, plan: p, rootfd: -1, nullfd: -1}
	defer s.close()
	steps := []struct {
		name string
		fn   func() error
	}{
		{"making mounts rslave", s.makeRslave},
		{"binding rootfs", s.bindRoot},
		{"mounting", s.mountAll},
		{"creating devices", s.makeDevices},
		{"creating /dev links", s.makeDevLinks},
		{"masking paths", func() error { return s.maskPaths(s.notDeferred) }},
		{"making paths read-only", func() error { return s.readOnlyPaths(s.notDeferred) }},
		{"pivoting root", s.pivot},
		{"finishing root", s.finishRoot},
	}
	for _, step := range steps {
		if err := step.fn(); err != nil {
			return fmt.Errorf("rootfs setup: %s: %w", step.name, err)
		}
	}
	return nil
}

// setup is the state of one RootFS.Setup.
type setup struct {
	r      *RootFS
	plan   *plan
	rootfd int // O_PATH descriptor of the bound rootfs
	nullfd int // O_PATH descriptor of the host's /dev/null
	// noProcSelf: /proc/self is not this thread's (MountProc), so mounts
	// go through descriptors only.
	noProcSelf bool
}

func (s *setup) close() {
	for _, fd := range []int{s.rootfd, s.nullfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// makeRslave makes every mount rslave. When "/" is not a mount point (the
// caller is chrooted into a directory), that is each topmost visible mount.
func (s *setup) makeRslave() error {
	err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		err = rslaveVisibleTops()
	}
	if err != nil {
		return &fs.PathError{Op: "mount rslave", Path: "/", Err: err}
	}
	return nil
}

// rslaveVisibleTops makes rslave each visible mount whose parent is not
// visible.
func rslaveVisibleTops() error {
	infos, err := readMountInfo()
	if err != nil {
		return err
	}
	visible := map[int]bool{}
	for _, m := range infos {
		visible[m.ID] = true
	}
	for _, m := range infos {
		if visible[m.Parent] {
			continue
		}
		if err := unix.Mount("", m.MountPoint, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("%s: %w", m.MountPoint, err)
		}
	}
	return nil
}

// bindRoot makes Path a mount point and opens it. It also opens the host's
// /dev/null now, while the host's /dev is reachable, for the masks.
func (s *setup) bindRoot() error {
	fi, err := os.Stat(s.r.Path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &fs.PathError{Op: "bind", Path: s.r.Path, Err: unix.ENOTDIR}
	}
	if err := unix.Mount(s.r.Path, s.r.Path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &fs.PathError{Op: "mount bind", Path: s.r.Path, Err: err}
	}
	if s.rootfd, err = openRootDir(s.r.Path); err != nil {
		return err
	}
	s.nullfd, err = openHostNull()
	return err
}

// openHostNull opens /dev/null with O_PATH and checks that it is the
// character device 1:3.
func openHostNull() (int, error) {
	fd, err := unix.Open("/dev/null", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: "/dev/null", Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "fstat", Path: "/dev/null", Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "open", Path: "/dev/null", Err: errors.New("not the character device 1:3")}
	}
	return fd, nil
}

func (s *setup) mountAll() error {
	for _, m := range s.plan.mounts {
		if s.r.BeforeMount != nil {
			if err := s.r.BeforeMount(m.MountSpec); err != nil {
				return fmt.Errorf("before mount on %q: %w", m.Target, err)
			}
		}
		if err := s.mountOne(m); err != nil {
			return err
		}
	}
	return nil
}
