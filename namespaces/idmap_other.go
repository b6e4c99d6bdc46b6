//go:build !linux

package namespaces

import (
	"errors"
	"fmt"
)

// WriteIDMaps writes the ID maps of a process's user namespace. Off Linux
// it returns an error wrapping [errors.ErrUnsupported].
func WriteIDMaps(pid int, uids, gids []IDMap) error {
	return fmt.Errorf("writing ID maps of pid %d: %w", pid, errors.ErrUnsupported)
}
