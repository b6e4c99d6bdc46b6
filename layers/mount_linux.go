package layers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountFlags maps mount(8) flag options to mount(2) flags; a flag with
// clear set is removed instead.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"noatime": {false, unix.MS_NOATIME}, "relatime": {false, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "sync": {false, unix.MS_SYNCHRONOUS},
	"dirsync": {false, unix.MS_DIRSYNC}, "nodiratime": {false, unix.MS_NODIRATIME},
}

// parseOptions splits mount options into mount(2) flags and the data
// string.
func parseOptions(opts []string) (uintptr, []string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		f, ok := mountFlags[o]
		switch {
		case !ok:
			data = append(data, o)
		case f.clear:
			flags &^= f.flag
		default:
			flags |= f.flag
		}
	}
	return flags, data
}

// MountAll mounts ms in order on target (each Mount's Target joined to
// it). If one fails, those already mounted are unmounted again. Needs
// CAP_SYS_ADMIN in the mount namespace. Overlay mounts whose options
// exceed the kernel's one-page limit (deep images) are made with the new
// mount API, passing each lower dir separately ("lowerdir+", Linux 6.8+).
// Errors are [*fs.PathError] values with the mount(2) errno.
func MountAll(ms []Mount, target string) (retErr error) {
	var done []string
	defer func() {
		if retErr != nil {
			for i := len(done) - 1; i >= 0; i-- {
				retErr = errors.Join(retErr, unmountOne(done[i]))
			}
		}
	}()
	for _, m := range ms {
		t := filepath.Join(target, m.Target)
		if err := mountOne(m, t); err != nil {
			return err
		}
		done = append(done, t)
	}
	return nil
}

func mountOne(m Mount, target string) error {
	flags, data := parseOptions(m.Options)
	typ := m.Type
	if typ == "bind" || typ == "rbind" {
		typ, flags = "", flags|unix.MS_BIND
		if m.Type == "rbind" {
			flags |= unix.MS_REC
		}
	}
	joined := strings.Join(data, ",")
	if typ == "overlay" && len(joined) >= os.Getpagesize() {
		return mountNewAPI(m, data, flags, target)
	}
	if err := unix.Mount(m.Source, target, typ, flags&^unix.MS_RDONLY|readOnlyUnlessBind(flags), joined); err != nil {
		return &fs.PathError{Op: "mount " + m.Type, Path: target, Err: err}
	}
	if flags&unix.MS_BIND != 0 && flags&(unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC) != 0 {
		// A bind mount takes its flags only on a remount.
		rf := unix.MS_REMOUNT | unix.MS_BIND | flags&(unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
		if err := unix.Mount("", target, "", rf, ""); err != nil {
			return errors.Join(&fs.PathError{Op: "remount", Path: target, Err: err}, unmountOne(target))
		}
	}
	return nil
}

func readOnlyUnlessBind(flags uintptr) uintptr {
	if flags&unix.MS_BIND != 0 {
		return 0
	}
	return flags & unix.MS_RDONLY
}

// mountNewAPI mounts an overlay with fsopen/fsconfig/fsmount, where no
// single option is limited to a page.
func mountNewAPI(m Mount, data []string, flags uintptr, target string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return &fs.PathError{Op: "fsopen overlay", Path: target, Err: err}
	}
	defer unix.Close(fsfd)
	for _, o := range data {
		if err := fsconfigOption(fsfd, o); err != nil {
			return &fs.PathError{Op: "fsconfig " + strings.SplitN(o, "=", 2)[0], Path: target, Err: err}
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return &fs.PathError{Op: "fsconfig create", Path: target, Err: err}
	}
	var attr int
	if flags&unix.MS_RDONLY != 0 {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if flags&unix.MS_NOSUID != 0 {
		attr |= unix.MOUNT_ATTR_NOSUID
	}
	if flags&unix.MS_NODEV != 0 {
		attr |= unix.MOUNT_ATTR_NODEV
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return &fs.PathError{Op: "fsmount", Path: target, Err: err}
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return &fs.PathError{Op: "move_mount", Path: target, Err: err}
	}
	return nil
}

func fsconfigOption(fsfd int, o string) error {
	k, v, ok := strings.Cut(o, "=")
	if !ok {
		return unix.FsconfigSetFlag(fsfd, k)
	}
	if k != "lowerdir" {
		return unix.FsconfigSetString(fsfd, k, v)
	}
	for _, dir := range strings.Split(v, ":") {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", dir); err != nil {
			return err
		}
	}
	return nil
}

// Unmount unmounts target, and again while something is still mounted
// there (stacked mounts), so that afterwards target is not a mountpoint.
// It is not an error if nothing was mounted.
func Unmount(target string) error {
	for isMountpoint(target) {
		if err := unix.Unmount(target, 0); err != nil {
			return &fs.PathError{Op: "umount", Path: target, Err: err}
		}
	}
	return nil
}

func unmountOne(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return &fs.PathError{Op: "umount", Path: target, Err: err}
	}
	return nil
}

// UnmountAll unmounts what MountAll(ms, target) mounted, in reverse order.
func UnmountAll(ms []Mount, target string) error {
	var errs []error
	for i := len(ms) - 1; i >= 0; i-- {
		errs = append(errs, Unmount(filepath.Join(target, ms[i].Target)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unmounting %q: %w", target, err)
	}
	return nil
}

// isMountpoint compares the mount ID of target and its parent.
func isMountpoint(target string) bool {
	var a, b unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, target, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &a) != nil {
		return false
	}
	if unix.Statx(unix.AT_FDCWD, filepath.Dir(target), 0, unix.STATX_MNT_ID, &b) != nil {
		return false
	}
	return a.Mnt_id != b.Mnt_id || a.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}
