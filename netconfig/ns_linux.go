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
	go func() { errc <- switchNS(ns, fn) }()
	return <-errc
}

// switchNS runs fn with the calling thread in namespace ns and moves the
// thread back afterwards. Call it only as the last thing a goroutine of
// your own does: if the thread cannot return, it stays locked to the
// goroutine, and the runtime discards it when the goroutine ends.
func switchNS(ns *os.File, fn func() error) error {
	if ns == nil {
		return fn()
	}
	runtime.LockOSThread()
	// A raw descriptor: os.Open would try to register the nsfs file with
	// the poller and undo that, five more system calls.
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("opening current network namespace: %w",
			&fs.PathError{Op: "open", Path: "/proc/thread-self/ns/net", Err: err})
	}
	defer unix.Close(orig)
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return &fs.PathError{Op: "setns", Path: ns.Name(), Err: err}
	}
	ferr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// Stay locked: the thread exits with this goroutine.
		return errors.Join(ferr, &fs.PathError{Op: "setns", Path: "/proc/thread-self/ns/net", Err: err})
	}
	runtime.UnlockOSThread()
	return ferr
}
