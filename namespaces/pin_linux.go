package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Pin keeps h's namespace alive after every process in it exited and every
// handle was closed, by bind-mounting the namespace file onto path, as
// `ip netns add` does under /run/netns. Pin creates path as an empty file
// (mode 0444) if it does not exist; its directory must exist. Undo it with
// [Unpin]. It needs CAP_SYS_ADMIN in the mount namespace's user namespace.
//
// The pin lives in the caller's mount namespace: make path's mount private
// or shared as other namespaces need to see it. A mount namespace cannot be
// pinned inside itself (the kernel answers EINVAL).
func Pin(h *Handle, path string) (retErr error) {
	created, err := createPinFile(path)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil && created {
			retErr = errors.Join(retErr, os.Remove(path))
		}
	}()
	src := "/proc/self/fd/" + strconv.Itoa(int(h.f.Fd()))
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("pinning namespace %v: %w", h.kind, &fs.PathError{Op: "mount", Path: path, Err: err})
	}
	return nil
}

// createPinFile makes path an empty file unless something exists there; it
// reports whether it created it.
func createPinFile(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating namespace pin: %w", err)
	}
	return true, f.Close()
}

// Unpin removes a pin made by [Pin]: it detaches the bind mount at path and
// removes the file. The namespace dies when nothing else refers to it. It
// wraps [fs.ErrNotExist] when path does not exist, and succeeds on a file
// that is no longer mounted.
func Unpin(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unpinning namespace: %w", &fs.PathError{Op: "umount", Path: path, Err: fs.ErrNotExist})
		}
		return fmt.Errorf("unpinning namespace: %w", &fs.PathError{Op: "umount", Path: path, Err: err})
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("unpinning namespace: %w", err)
	}
	return nil
}
