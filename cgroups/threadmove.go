package cgroups

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// ThreadMove moves one thread of the calling process into a cgroup v1
// group and back: what the thread forks while it is in is born in the
// group, with no move of the child. Its files are opened by
// [Group.PrepareThreadMove], so Enter and Leave work after the thread
// changed its root or its mount namespace.
//
// Enter and Leave move the calling thread, named "0" to the kernel, which
// then skips its global threadgroup lock (the first taking of that lock
// after a quiet spell waits for an RCU grace period, milliseconds): call
// them on the thread that called PrepareThreadMove, locked with
// runtime.LockOSThread. While the thread is in the group, its allocations
// are charged to the group and it counts as one of its tasks: keep the
// stay short. A ThreadMove is not safe for concurrent use; Close it when
// done.
type ThreadMove struct {
	into []int // the group's tasks file, per hierarchy
	home []int // the thread's own cgroup's tasks file, per hierarchy
}

// Enter moves the calling thread into the group, in every hierarchy, or
// in none if it fails.
func (m *ThreadMove) Enter() error {
	for i, fd := range m.into {
		if err := writeSelf(fd); err != nil {
			return errors.Join(fmt.Errorf("moving the thread into its group: %w", err), m.leave(i))
		}
	}
	return nil
}

// Leave moves the calling thread back where it was before Enter.
func (m *ThreadMove) Leave() error { return m.leave(len(m.home)) }

func (m *ThreadMove) leave(n int) error {
	var errs []error
	for _, fd := range m.home[:n] {
		if err := writeSelf(fd); err != nil {
			errs = append(errs, fmt.Errorf("moving the thread back: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the files. It does not move the thread.
func (m *ThreadMove) Close() error {
	for _, fd := range append(m.into, m.home...) {
		unix.Close(fd)
	}
	m.into, m.home = nil, nil
	return nil
}

func writeSelf(fd int) error {
	for {
		_, err := unix.Write(fd, []byte("0"))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "write", Path: "tasks", Err: err}
		}
		return nil
	}
}
