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

// procLocks holds one in-process semaphore per locked file path, shared by
// every IPAM in the process, so that goroutines queue on a channel instead
// of polling flock(2).
var procLocks sync.Map // string -> chan struct{}

// lockFile opens path with flag and takes an exclusive lock on it: first
// the in-process semaphore, then flock(2) against other processes, waiting
// until ctx is done. If the file was removed or replaced while waiting,
// the error wraps fs.ErrNotExist. The returned function releases the lock
// and closes the file.
func lockFile(ctx context.Context, path string, flag int) (*os.File, func(), error) {
	sem, _ := procLocks.LoadOrStore(filepath.Clean(path), make(chan struct{}, 1))
	ch := sem.(chan struct{})
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
	}
	f, err := openFile(path, flag)
	if err == nil {
		err = flockWait(ctx, f)
		if err == nil {
			err = stillLinked(f)
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		<-ch
		return nil, nil, err
	}
	return f, func() {
		f.Close() // releases the flock
		<-ch
	}, nil
}

// openFile is os.OpenFile(path, flag, 0o600) without the attempt to
// register a regular file with the poller, which costs four more system
// calls that fail or undo each other.
func openFile(path string, flag int) (*os.File, error) {
	fd, err := unix.Open(path, flag|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// stillLinked fails with fs.ErrNotExist if f's path no longer names f.
func stillLinked(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	now, err := os.Stat(f.Name())
	if err != nil {
		return err
	}
	if !os.SameFile(fi, now) {
		return &fs.PathError{Op: "lock", Path: f.Name(), Err: fs.ErrNotExist}
	}
	return nil
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
