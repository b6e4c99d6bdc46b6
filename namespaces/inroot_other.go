//go:build !linux

package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// OpenInRoot opens unsafePath inside root as if root were "/". Off Linux it
// returns an error wrapping [errors.ErrUnsupported].
func OpenInRoot(root, unsafePath string, flags int) (*os.File, error) {
	return nil, fmt.Errorf("opening %q in root %s: %w", unsafePath, root, errors.ErrUnsupported)
}

// MkdirAllInRoot creates a directory inside root as if root were "/". Off
// Linux it returns an error wrapping [errors.ErrUnsupported].
func MkdirAllInRoot(root, unsafePath string, mode fs.FileMode) (*os.File, error) {
	return nil, fmt.Errorf("creating directory %q in root %s: %w", unsafePath, root, errors.ErrUnsupported)
}
