package peer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// NewCrunRunner returns a function that runs `crun run` of the bundle as
// container id, with crun's state in bundle/stateDir. Every run happens on
// one locked thread in a private mount namespace that hides the cgroup2
// controllers of a hybrid host (crun 1.8 refuses that layout otherwise; see
// shared/recipes/runtime-peers), set up once, outside any timing. The
// thread ends with the test.
func NewCrunRunner(t testing.TB, stateDir string) func(bundle, id string) error {
	t.Helper()
	type req struct {
		bundle, id string
		done       chan error
	}
	reqs := make(chan req)
	ready := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with its namespace
		if err := HideV2Controllers(dir); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for r := range reqs {
			out, err := exec.Command("crun", "--root", filepath.Join(r.bundle, stateDir), "run", "--bundle", r.bundle, r.id).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("crun run: %w: %s", err, out)
			}
			r.done <- err
		}
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(reqs) })
	return func(bundle, id string) error {
		r := req{bundle, id, make(chan error, 1)}
		reqs <- r
		return <-r.done
	}
}

// HideV2Controllers moves the calling thread, which must be locked and
// never unlocked, into a private mount namespace in which
// /sys/fs/cgroup/unified/cgroup.controllers reads empty (a read-only bind
// of an empty file made in dir). On a host without that file it only makes
// the namespace.
func HideV2Controllers(dir string) error {
	empty := filepath.Join(dir, "empty-controllers")
	if err := os.WriteFile(empty, nil, 0o444); err != nil {
		return err
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	target := "/sys/fs/cgroup/unified/cgroup.controllers"
	if _, err := os.Stat(target); err != nil {
		return nil // not a hybrid host
	}
	if err := unix.Mount(empty, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding over %s: %w", target, err)
	}
	return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
}
