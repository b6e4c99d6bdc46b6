//go:build !unix

package berth

import (
	"context"
	"errors"
	"fmt"
)

type storeLock struct{}

// lockStore fails: the store relies on flock(2).
func (s *ImageStore) lockStore(ctx context.Context, exclusive bool) (*storeLock, error) {
	return nil, fmt.Errorf("locking image store: %w", errors.ErrUnsupported)
}

func (l *storeLock) unlock() error { return nil }
