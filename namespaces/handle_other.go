//go:build !linux

package namespaces

import (
	"errors"
	"fmt"
)

// Open opens a namespace file. Off Linux it returns an error wrapping
// [errors.ErrUnsupported].
func Open(path string) (*Handle, error) {
	return nil, fmt.Errorf("opening namespace %s: %w", path, errors.ErrUnsupported)
}

// OpenPID opens a namespace of a process. Off Linux it returns an error
// wrapping [errors.ErrUnsupported].
func OpenPID(pid int, k Kind) (*Handle, error) {
	return nil, fmt.Errorf("opening namespace %v of pid %d: %w", k, pid, errors.ErrUnsupported)
}

// Current opens a namespace of the calling thread. Off Linux it returns an
// error wrapping [errors.ErrUnsupported].
func Current(k Kind) (*Handle, error) {
	return nil, fmt.Errorf("opening current namespace %v: %w", k, errors.ErrUnsupported)
}

// Equal reports whether h and other refer to the same namespace; off Linux
// never.
func (h *Handle) Equal(other *Handle) bool { return false }

// Do runs fn inside h's namespace. Off Linux it returns an error wrapping
// [errors.ErrUnsupported].
func (h *Handle) Do(fn func() error) error {
	return fmt.Errorf("running in namespace %v: %w", h.kind, errors.ErrUnsupported)
}
