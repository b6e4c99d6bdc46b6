package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNS runs fn on a fresh OS thread that has joined the network namespace
// ns, and returns fn's error. A nil ns runs fn on the calling goroutine, in
// the namespace the process's threads share. If the thread cannot be moved
// back to its original namespace it is never unlocked, so the Go runtime
// discards it with the goroutine instead of reusing a thread in the wrong
// namespace.
func inNS(ns *os.File, fn func() error) error {
	if ns == nil {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- &fs.PathError{Op: "setns", Path: ns.Name(), Err: err}
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread exits with this goroutine.
			errc <- errors.Join(ferr, &fs.PathError{Op: "setns", Path: orig.Name(), Err: err})
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
