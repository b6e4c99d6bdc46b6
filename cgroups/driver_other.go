//go:build !linux

package cgroups

import (
	"errors"
	"fmt"
	"runtime"
)

func hostMode() CGMode { return Unavailable }

func newDriver(root, p string) (driver, CGMode, error) {
	return nil, Unavailable, fmt.Errorf("cgroups need Linux, not %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
