package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Open opens the namespace file at path (/proc/PID/ns/KIND, a pinned
// namespace file, /run/netns/NAME, ...) and finds out its kind.
//
// It wraps [fs.ErrNotExist] when path is missing, and [fs.ErrInvalid] when
// path is not a namespace file.
func Open(path string) (*Handle, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening namespace: %w", err)
	}
	k, err := nsType(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Handle{f: f, kind: k}, nil
}

// nsType asks the kernel which kind of namespace f refers to.
func nsType(f *os.File) (Kind, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, &fs.PathError{Op: "fstatfs", Path: f.Name(), Err: err}
	}
	if st.Type != unix.NSFS_MAGIC {
		return 0, fmt.Errorf("opening namespace %s: not a namespace file: %w", f.Name(), fs.ErrInvalid)
	}
	t, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		return 0, &fs.PathError{Op: "ioctl NS_GET_NSTYPE", Path: f.Name(), Err: err}
	}
	return Kind(t), nil
}

// OpenPID opens the namespace of kind k (exactly one kind) of process pid.
// It wraps [fs.ErrNotExist] when the process is gone and [fs.ErrInvalid]
// when k is not a single kind.
func OpenPID(pid int, k Kind) (*Handle, error) {
	name, ok := k.procName()
	if !ok || !k.single() {
		return nil, fmt.Errorf("opening namespace %v of pid %d: not a single kind: %w", k, pid, fs.ErrInvalid)
	}
	return openKind("/proc/"+strconv.Itoa(pid)+"/ns/"+name, k)
}

// Current opens the namespace of kind k (exactly one kind) of the calling
// thread. Threads of one process share all namespaces except while a
// goroutine runs inside [Handle.Do] or has changed its own thread's
// namespace; lock the OS thread first if that matters.
func Current(k Kind) (*Handle, error) {
	name, ok := k.procName()
	if !ok || !k.single() {
		return nil, fmt.Errorf("opening current namespace %v: not a single kind: %w", k, fs.ErrInvalid)
	}
	return openKind("/proc/thread-self/ns/"+name, k)
}

func openKind(path string, k Kind) (*Handle, error) {
	h, err := Open(path)
	if err != nil {
		return nil, err
	}
	if h.kind != k {
		h.Close()
		return nil, fmt.Errorf("opening namespace %s: kind %v, want %v: %w", path, h.kind, k, fs.ErrInvalid)
	}
	return h, nil
}

// Equal reports whether h and other refer to the same namespace. A failure
// to stat either file makes them unequal.
func (h *Handle) Equal(other *Handle) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(h.f.Fd()), &a) != nil || unix.Fstat(int(other.f.Fd()), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// Do runs fn on a new goroutine whose OS thread has joined h's namespace,
// and returns fn's error. It works for Net, UTS and IPC namespaces, the
// kinds a single thread can switch; for Mount, User, PID, Cgroup and Time it
// returns an error wrapping [errors.ErrUnsupported] (setns refuses Mount and
// User in a multi-threaded process, and PID and Time apply only to
// children): start a process with [Command] instead.
//
// fn runs with its thread locked; goroutines it starts run in the original
// namespace. Afterwards the thread switches back, and is unlocked only if
// that succeeded: otherwise the runtime discards the thread, and Do returns
// the switching error joined to fn's.
func (h *Handle) Do(fn func() error) error {
	if h.kind != Net && h.kind != UTS && h.kind != IPC {
		return fmt.Errorf("running in namespace %v: %w", h.kind, errors.ErrUnsupported)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- h.doLocked(fn)
	}()
	return <-errc
}

// doLocked does Do's work on a locked thread. It unlocks the thread only
// when the thread is back in its original namespace.
func (h *Handle) doLocked(fn func() error) error {
	orig, err := Current(h.kind)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("running in namespace %v: %w", h.kind, err)
	}
	defer orig.Close()
	if err := unix.Setns(int(h.f.Fd()), int(h.kind)); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("running in namespace %v: %w", h.kind, &fs.PathError{Op: "setns", Path: h.f.Name(), Err: err})
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.f.Fd()), int(h.kind)); err != nil {
		// Stay locked: the goroutine exits and the runtime kills the thread.
		return errors.Join(fnErr, fmt.Errorf("returning to namespace %v: %w", h.kind,
			&fs.PathError{Op: "setns", Path: orig.f.Name(), Err: err}))
	}
	runtime.UnlockOSThread()
	return fnErr
}
