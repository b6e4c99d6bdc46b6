package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ProcPIDNamespaceSupported reports whether this kernel can mount a /proc
// showing a PID namespace other than the caller's (the "pidns" option of
// fsconfig(2), Linux 6.18), which [RootFS.MountProc] needs. The answer is
// probed once and cached; it is safe for concurrent use.
func ProcPIDNamespaceSupported() bool { return procPIDNSProbe() }

var procPIDNSProbe = sync.OnceValue(func() bool {
	ns, err := unix.Open("/proc/self/ns/pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(ns)
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fsfd)
	return unix.FsconfigSetFd(fsfd, "pidns", ns) == nil
})

// MountProc performs what [RootFS.DeferProc] left out of Setup: each
// "proc" mount of r.Mounts, showing the PID namespace pidns (a descriptor
// of a namespace file, such as /proc/PID/ns/pid of the namespace's first
// process), then the masked and read-only paths below them. Call it on the
// thread that ran Setup, after Setup: paths are resolved in its new "/".
// It needs Linux 6.18 ([ProcPIDNamespaceSupported]); before, it fails
// wrapping errors.ErrUnsupported. Errors name the mount or path.
func (r *RootFS) MountProc(pidns *os.File) error {
	p, err := r.validate()
	if err != nil {
		return fmt.Errorf("mounting proc: %w", err)
	}
	if !ProcPIDNamespaceSupported() {
		return fmt.Errorf("mounting proc for another PID namespace: %w", errors.ErrUnsupported)
	}
	rootfd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	s := &setup{r: r, plan: p, rootfd: rootfd, nullfd: -1, noProcSelf: true}
	defer s.close()
	for _, m := range p.mounts {
		if !isProcMount(m) {
			continue
		}
		if err := s.mountProcFor(m, int(pidns.Fd())); err != nil {
			return fmt.Errorf("mounting proc: %w", err)
		}
	}
	// The container's /dev/null, made by Setup, checked to be 1:3.
	if s.nullfd, err = openHostNull(); err != nil {
		return fmt.Errorf("mounting proc: %w", err)
	}
	if err := s.maskPaths(s.underProc); err != nil {
		return fmt.Errorf("mounting proc: masking paths: %w", err)
	}
	if err := s.readOnlyPaths(s.underProc); err != nil {
		return fmt.Errorf("mounting proc: making paths read-only: %w", err)
	}
	return nil
}

func isProcMount(m plannedMount) bool { return m.Type == "proc" && !m.opts.bind() }

// deferred reports whether Setup leaves m to MountProc.
func (s *setup) deferred(m plannedMount) bool { return s.r.DeferProc && isProcMount(m) }

// underProc reports whether p is at or below the target of a proc mount.
func (s *setup) underProc(p string) bool {
	clean := path.Clean("/" + p)
	for _, m := range s.plan.mounts {
		if !isProcMount(m) {
			continue
		}
		t := path.Clean("/" + m.Target)
		if clean == t || strings.HasPrefix(clean, t+"/") {
			return true
		}
	}
	return false
}

// notDeferred is the filter of Setup's masks and read-only paths: with
// DeferProc, those below proc mounts wait for MountProc.
func (s *setup) notDeferred(p string) bool { return !s.r.DeferProc || !s.underProc(p) }

// mountProcFor mounts a proc file system showing the PID namespace pidns
// on m.Target, with the new mount API: the target is the resolved
// descriptor, never a path looked up again.
func (s *setup) mountProcFor(m plannedMount, pidns int) error {
	fd, err := walk(s.rootfd, m.Target, walkMkdir, 0o755, true)
	if err != nil {
		return fmt.Errorf("mount on %q: %w", m.Target, err)
	}
	defer unix.Close(fd)
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return &fs.PathError{Op: "fsopen proc", Path: m.Target, Err: err}
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetFd(fsfd, "pidns", pidns); err != nil {
		return &fs.PathError{Op: "fsconfig pidns", Path: m.Target, Err: err}
	}
	if err := fsconfigData(fsfd, m.opts.data); err != nil {
		return &fs.PathError{Op: "fsconfig", Path: m.Target, Err: err}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return &fs.PathError{Op: "fsconfig create proc", Path: m.Target, Err: err}
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, mountAttrs(m.opts.flags))
	if err != nil {
		return &fs.PathError{Op: "fsmount proc", Path: m.Target, Err: err}
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return &fs.PathError{Op: "move_mount proc", Path: m.Target, Err: err}
	}
	return s.setPropagation(m.Target, fd, m.opts.propagation)
}

// fsconfigData passes mount(8) data words ("hidepid=2,subset=pid") to a
// file-system context.
func fsconfigData(fsfd int, data string) error {
	for _, w := range strings.Split(data, ",") {
		if w == "" {
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		var err error
		if ok {
			err = unix.FsconfigSetString(fsfd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fsfd, k)
		}
		if err != nil {
			return fmt.Errorf("option %q: %w", w, err)
		}
	}
	return nil
}

// mountAttrs turns MS_* flags into fsmount(2) MOUNT_ATTR_* attributes.
func mountAttrs(flags uintptr) int {
	attrs := 0
	for _, f := range []struct {
		ms   uintptr
		attr int
	}{
		{msRdonly, unix.MOUNT_ATTR_RDONLY}, {msNosuid, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{msNoatime, unix.MOUNT_ATTR_NOATIME}, {msStrictatime, unix.MOUNT_ATTR_STRICTATIME},
		{msNodiratime, unix.MOUNT_ATTR_NODIRATIME},
	} {
		if flags&f.ms != 0 {
			attrs |= f.attr
		}
	}
	return attrs
}
