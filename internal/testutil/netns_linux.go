package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NetNS creates a new network namespace with loopback up, for a test to use
// as "the host" (or as a container's), and returns the path of the file it
// is pinned at (a bind mount in t.TempDir()). The namespace lives until the
// test ends: t's cleanup unmounts the pin, and the kernel frees the
// namespace once nothing else holds it. It needs root; it never touches the
// caller's own network namespace.
func NetNS(t testing.TB) string {
	t.Helper()
	RequireFeature(t, "netns")
	path := filepath.Join(t.TempDir(), "netns")
	if err := newPinnedNetNS(path); err != nil {
		t.Fatalf("creating a test network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			t.Errorf("unpinning test network namespace %s: %v", path, err)
		}
	})
	return path
}

// newPinnedNetNS makes the namespace on a locked thread that is never
// unlocked, so the thread ends with the goroutine and no other goroutine
// ever runs in the new namespace.
func newPinnedNetNS(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- enterNewNetNS(path)
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func enterNewNetNS(path string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
		return &os.PathError{Op: "mount", Path: path, Err: err}
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		return fmt.Errorf("setting lo up: %w", err)
	}
	return nil
}
