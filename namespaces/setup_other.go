//go:build !linux

package namespaces

import (
	"errors"
	"fmt"
	"os"
)

// Setup builds the root file system and makes it "/". Off Linux it returns
// an error wrapping [errors.ErrUnsupported].
func (r *RootFS) Setup() error {
	return fmt.Errorf("rootfs setup: %w", errors.ErrUnsupported)
}

// MountProc mounts the deferred /proc. Off Linux it returns an error
// wrapping [errors.ErrUnsupported].
func (r *RootFS) MountProc(pidns *os.File) error {
	return fmt.Errorf("mounting proc: %w", errors.ErrUnsupported)
}

// ProcPIDNamespaceSupported reports false off Linux.
func ProcPIDNamespaceSupported() bool { return false }
