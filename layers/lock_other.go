//go:build !unix

package layers

import (
	"errors"
	"os"
)

func lockFile(f *os.File, exclusive, nonblock bool) error { return errors.ErrUnsupported }

func unlockFile(f *os.File) error { return errors.ErrUnsupported }
