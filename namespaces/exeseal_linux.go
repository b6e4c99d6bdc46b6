package namespaces

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// overlayExe returns the running binary (open as exe) as a file on a
// private, read-only overlay of its directory: a zero-copy equivalent of
// the sealed memfd (CVE-2019-5736).
//
// The overlay has two lower layers and no upper one ("lower-only"), so its
// superblock is read-only: no mount flag, remount or clone of the mount can
// make it writable, and the binary cannot be written through it. Its layers
// are given by descriptor: the binary's directory and an empty tmpfs that
// is mounted nowhere; the overlay itself is mounted nowhere either
// (fsmount(2) without move_mount(2)). Nothing appears in any mount table
// or on the host's file systems, and everything is released when the
// returned file is closed.
//
// It needs CAP_SYS_ADMIN over the mount namespace and Linux 6.13 or later
// (overlay layers given as descriptors); it fails, and the caller copies
// the binary instead, where those are missing, where the binary was
// deleted or replaced since it started, or where its file system cannot
// be an overlay layer.
func overlayExe(exe *os.File) (_ *os.File, retErr error) {
	var want unix.Stat_t
	if err := unix.Fstat(int(exe.Fd()), &want); err != nil {
		return nil, &fs.PathError{Op: "fstat", Path: exe.Name(), Err: err}
	}
	dirfd, name, err := openExeDir(&want)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	empty, err := emptyTmpfs("")
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	mnt, err := lowerOnlyOverlay(dirfd, empty)
	if err != nil {
		return nil, err
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "openat overlay", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), "overlay:"+name)
	defer func() {
		if retErr != nil {
			f.Close()
		}
	}()
	// With xino off, a lower-only overlay reports the lower file's inode
	// number; the size must match too.
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil {
		return nil, &fs.PathError{Op: "fstat overlay", Path: name, Err: err}
	}
	if got.Ino != want.Ino || got.Size != want.Size {
		return nil, &fs.PathError{Op: "open overlay", Path: name, Err: errExeChanged}
	}
	return f, nil
}

// onReadOnlyOverlay reports whether fd is a file of a read-only overlay,
// such as one overlayExe returned: nothing can be written through it
// (EROFS), and no process without CAP_SYS_ADMIN in this mount namespace
// can make a writable mount of it, so it needs no further protection.
func onReadOnlyOverlay(fd int) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(fd, &st) == nil && st.Type == unix.OVERLAYFS_SUPER_MAGIC && st.Flags&unix.ST_RDONLY != 0
}

// errExeChanged reports that the file at the running binary's path is no
// longer the running binary.
var errExeChanged = errors.New("not the running binary")

// openExeDir opens the directory of the running binary, whose inode is
// want, and returns it with the binary's name in it, after checking that
// the name still leads to that inode.
func openExeDir(want *unix.Stat_t) (int, string, error) {
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return -1, "", err
	}
	if !filepath.IsAbs(path) || strings.HasSuffix(path, " (deleted)") {
		return -1, "", &fs.PathError{Op: "readlink", Path: "/proc/self/exe", Err: errExeChanged}
	}
	dir, name := filepath.Split(path)
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	var st unix.Stat_t
	err = unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && (st.Dev != want.Dev || st.Ino != want.Ino) {
		err = errExeChanged
	}
	if err != nil {
		unix.Close(dirfd)
		return -1, "", &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return dirfd, name, nil
}

// emptyTmpfs returns an empty tmpfs mounted nowhere (nosuid, nodev,
// noexec), read-only down to its superblock, so that no remount of it or
// of a clone makes it writable; its root directory has the given mode (""
// for tmpfs's default): the second layer a lower-only overlay needs, or a
// mask over directories.
func emptyTmpfs(mode string) (int, error) {
	ctx, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, &fs.PathError{Op: "fsopen", Path: "tmpfs", Err: err}
	}
	defer unix.Close(ctx)
	if mode != "" {
		if err := unix.FsconfigSetString(ctx, "mode", mode); err != nil {
			return -1, &fs.PathError{Op: "fsconfig mode=" + mode, Path: "tmpfs", Err: err}
		}
	}
	if err := unix.FsconfigSetFlag(ctx, "ro"); err != nil {
		return -1, &fs.PathError{Op: "fsconfig ro", Path: "tmpfs", Err: err}
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, &fs.PathError{Op: "fsconfig create", Path: "tmpfs", Err: err}
	}
	fd, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, &fs.PathError{Op: "fsmount", Path: "tmpfs", Err: err}
	}
	return fd, nil
}

// lowerOnlyOverlay mounts, nowhere, an overlay of the directories open as
// top and bottom, without an upper layer, and returns the mount.
func lowerOnlyOverlay(top, bottom int) (int, error) {
	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, &fs.PathError{Op: "fsopen", Path: "overlay", Err: err}
	}
	defer unix.Close(ctx)
	for _, layer := range []int{top, bottom} {
		if err := unix.FsconfigSetFd(ctx, "lowerdir+", layer); err != nil {
			return -1, &fs.PathError{Op: "fsconfig lowerdir+", Path: "overlay", Err: err}
		}
	}
	// Layers on different file systems would turn xino on, with kernel
	// log noise; inode numbers do not matter here.
	_ = unix.FsconfigSetString(ctx, "xino", "off")
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, &fs.PathError{Op: "fsconfig create", Path: "overlay", Err: err}
	}
	fd, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return -1, &fs.PathError{Op: "fsmount", Path: "overlay", Err: err}
	}
	return fd, nil
}

// copyExe copies the running binary, open as exe, into a new memfd and
// seals it: the fallback where an overlay cannot be made. The data moves
// inside the kernel (sendfile(2)); copy_file_range(2) refuses a memfd as
// target (EXDEV).
func copyExe(exe *os.File) (_ *os.File, retErr error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(exe.Fd()), &st); err != nil {
		return nil, &fs.PathError{Op: "fstat", Path: exe.Name(), Err: err}
	}
	mfd, err := memfdCreate("berth-init")
	if err != nil {
		return nil, err
	}
	memf := os.NewFile(uintptr(mfd), "memfd:berth-init")
	defer func() {
		if retErr != nil {
			memf.Close()
		}
	}()
	if err := sendAll(mfd, int(exe.Fd()), st.Size); err != nil {
		return nil, fmt.Errorf("copying own binary into memfd: %w", err)
	}
	if err := addSeals(mfd); err != nil {
		return nil, err
	}
	return memf, nil
}

// sendAll copies size bytes from the start of src to dst with sendfile(2).
func sendAll(dst, src int, size int64) error {
	var off int64
	for off < size {
		n, err := unix.Sendfile(dst, src, &off, int(min(size-off, 1<<30)))
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "sendfile", Path: "memfd:berth-init", Err: err}
		}
		if n == 0 {
			return &fs.PathError{Op: "sendfile", Path: "memfd:berth-init", Err: io.ErrUnexpectedEOF}
		}
	}
	return nil
}
