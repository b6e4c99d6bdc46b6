//go:build unix

package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// storeLock is a held flock on the store's lock file.
type storeLock struct{ f *os.File }

// lockStore takes the store lock, shared or exclusive, waiting until it
// is free or ctx is done. Each call opens its own descriptor, so the lock
// also excludes other goroutines of this process.
func (s *ImageStore) lockStore(ctx context.Context, exclusive bool) (*storeLock, error) {
	p := filepath.Join(s.dir, storeLockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking image store: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	wait := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &storeLock{f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			return nil, errors.Join(&fs.PathError{Op: "flock", Path: p, Err: err}, f.Close())
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("locking image store: %w", ctx.Err()), f.Close())
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// unlock releases the lock (closing the descriptor drops the flock).
func (l *storeLock) unlock() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("unlocking image store: %w", err)
	}
	return nil
}
