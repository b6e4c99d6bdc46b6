//go:build !linux

package layers

import (
	"errors"
	"os"
)

var forceNamedTemp = true

func openTmpfile(dir string) (*os.File, error) { return nil, errors.ErrUnsupported }

func linkTmpfile(f *os.File, dst string) error { return errors.ErrUnsupported }
