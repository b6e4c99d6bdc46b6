//go:build !linux

package initproto

import (
	"errors"
	"os"
)

// Socketpair returns errors.ErrUnsupported off Linux.
func Socketpair() (parent, child *os.File, err error) { return nil, nil, errors.ErrUnsupported }
