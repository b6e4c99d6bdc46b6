package netconfig

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newNetNS creates a network namespace that lives as long as the returned
// file, which t.Cleanup closes: the kernel then deletes the namespace and
// every link, address, route, socket and nftables rule in it.
func newNetNS(t testing.TB) *os.File {
	t.Helper()
	f, err := createNetNS()
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func createNetNS() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
			// Leave the thread locked: it dies with this goroutine.
			if f != nil {
				f.Close()
			}
			ch <- result{err: serr}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

// openHandle opens a Handle on ns and closes it in t.Cleanup.
func openHandle(t testing.TB, ns *os.File) *Handle {
	t.Helper()
	h, err := Open(ns)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}
