//go:build !linux

package testutil

import (
	"errors"
	"fmt"
	"runtime"
)

func takeSnapshot() (*Snapshot, error) {
	return nil, fmt.Errorf("leak check on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
