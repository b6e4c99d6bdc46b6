//go:build !linux

package namespaces

import (
	"errors"
	"fmt"
)

// Setup builds the root file system and makes it "/". Off Linux it returns
// an error wrapping [errors.ErrUnsupported].
func (r *RootFS) Setup() error {
	return fmt.Errorf("rootfs setup: %w", errors.ErrUnsupported)
}
