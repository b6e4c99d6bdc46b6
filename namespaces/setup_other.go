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

// NewMaskSource makes a mask source for [RootFS.MaskSource]. Off Linux it
// returns an error wrapping [errors.ErrUnsupported].
func NewMaskSource() (*os.File, error) {
	return nil, fmt.Errorf("making a mask source: %w", errors.ErrUnsupported)
}

// PrepareCgroupView reads the host's cgroup hierarchies ahead of Setup.
// Off Linux it returns an error wrapping [errors.ErrUnsupported].
func PrepareCgroupView() error {
	return fmt.Errorf("reading cgroup hierarchies: %w", errors.ErrUnsupported)
}
