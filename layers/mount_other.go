//go:build !linux

package layers

import (
	"errors"
	"fmt"
)

// MountAll mounts ms on target; it needs Linux and returns
// errors.ErrUnsupported elsewhere.
func MountAll(ms []Mount, target string) error {
	return fmt.Errorf("mounting on %q: %w", target, errors.ErrUnsupported)
}

// Unmount unmounts target; it needs Linux.
func Unmount(target string) error {
	return fmt.Errorf("unmounting %q: %w", target, errors.ErrUnsupported)
}

// UnmountAll unmounts what MountAll mounted; it needs Linux.
func UnmountAll(ms []Mount, target string) error {
	return fmt.Errorf("unmounting %q: %w", target, errors.ErrUnsupported)
}
