//go:build unix

package netconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// procLocks holds one in-process semaphore per lock file path, shared by
// every IPAM in the process, so that goroutines queue on a channel instead
// of polling flock(2).
var procLocks sync.Map // string -> chan struct{}

// lockFile takes the exclusive lock on path (created if missing): first the
// in-process semaphore, then flock(2) against other processes. It waits until
// ctx is done. The returned function releases both.
func lockFile(ctx context.Context, path string) (func(), error) {
	sem, _ := procLocks.LoadOrStore(filepath.Clean(path), make(chan struct{}, 1))
	ch := sem.(chan struct{})
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		<-ch
		return nil, err
	}
	if err := flockWait(ctx, f); err != nil {
		f.Close()
		<-ch
		return nil, err
	}
	return func() {
		f.Close() // releases the flock
		<-ch
	}, nil
}

// flockWait polls a non-blocking flock(2), backing off from 50µs to 10ms,
// because a blocking flock cannot be interrupted when ctx is cancelled.
func flockWait(ctx context.Context, f *os.File) error {
	delay := 50 * time.Microsecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for lock %s: %w", f.Name(), context.Cause(ctx))
		}
		delay = min(2*delay, 10*time.Millisecond)
	}
}
