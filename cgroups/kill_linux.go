package cgroups

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// freezable is what killLoop needs of a driver.
type freezable interface {
	freeze(ctx context.Context) error
	thaw() error
	subtreeProcs() ([]int, error)
}

// killLoop kills every process of d's subtree where there is no
// cgroup.kill: freeze (so nothing forks while the list is read), SIGKILL
// each process, thaw (so the signals are delivered), and repeat until a
// listing is empty. Without a freezer the repetition alone catches
// processes forked meanwhile. A group already empty (a container whose
// init was reaped in its own PID namespace, so its whole tree is gone) is
// left at once: with no process in the subtree, none can fork into it, so
// the freeze-thaw round trip would find nothing.
func killLoop(ctx context.Context, d freezable, freezer bool) error {
	if pids, err := d.subtreeProcs(); errors.Is(err, fs.ErrNotExist) || (err == nil && len(pids) == 0) {
		return nil
	}
	for {
		if freezer {
			if err := d.freeze(ctx); err != nil {
				return err
			}
		}
		pids, err := d.subtreeProcs()
		if err == nil {
			err = signalAll(pids)
		}
		if freezer {
			err = errors.Join(err, d.thaw())
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the group is gone
		}
		if err != nil || len(pids) == 0 {
			return err
		}
		if err := waitEmpty(ctx, d, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// signalAll kills pids, never the calling process: one of its threads can
// be in a group for a moment (see ThreadMove).
func signalAll(pids []int) error {
	self := unix.Getpid()
	for _, pid := range pids {
		if pid == self {
			continue
		}
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			return &fs.PathError{Op: "kill", Path: "/proc/" + itoa(pid), Err: err}
		}
	}
	return nil
}

// waitEmpty waits up to limit for the subtree to have no process; it
// returns nil when the time is up, so the caller can signal again.
func waitEmpty(ctx context.Context, d freezable, limit time.Duration) error {
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := poll(tctx, func() (bool, error) {
		pids, err := d.subtreeProcs()
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		return len(pids) == 0, err
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
