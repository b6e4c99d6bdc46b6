package cgroups

import (
	"context"
	"fmt"
	"time"
)

// poll calls cond until it reports done, an error, or ctx ends, sleeping
// between calls from 1 ms up to 50 ms.
func poll(ctx context.Context, cond func() (bool, error)) error {
	delay := time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		done, err := cond()
		if err != nil || done {
			return err
		}
		t.Reset(delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// removeWhenEmpty removes the group directory dir and its descendants.
// While processes remain it fails wrapping ErrPopulated; while the kernel
// still reports it busy with no process left (tasks that are exiting), it
// retries until ctx ends.
func removeWhenEmpty(ctx context.Context, dir string, fake bool, procs func() ([]int, error)) error {
	return poll(ctx, func() (bool, error) {
		err := removeTree(dir, fake)
		if err == nil || !isBusy(err) {
			return true, err
		}
		pids, perr := procs()
		if perr != nil {
			return true, perr
		}
		if len(pids) > 0 {
			return true, fmt.Errorf("%d processes remain (kill them first, or set DeleteOptions.Kill): %w", len(pids), ErrPopulated)
		}
		return false, nil
	})
}
