//go:build !linux

package namespaces

import (
	"errors"
	"fmt"
)

// Pin keeps a namespace alive with a bind mount. Off Linux it returns an
// error wrapping [errors.ErrUnsupported].
func Pin(h *Handle, path string) error {
	return fmt.Errorf("pinning namespace at %s: %w", path, errors.ErrUnsupported)
}

// Unpin removes a pin made by [Pin]. Off Linux it returns an error wrapping
// [errors.ErrUnsupported].
func Unpin(path string) error {
	return fmt.Errorf("unpinning namespace at %s: %w", path, errors.ErrUnsupported)
}
