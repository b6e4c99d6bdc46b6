//go:build !linux

package layers

import (
	"archive/tar"
	"context"
	"errors"
)

type differ struct {
	ctx          context.Context
	tw           *tar.Writer
	opts         *DiffOptions
	lower, upper string
	links        map[uint64]string
	buf          []byte
}

func (d *differ) run() error { return errors.ErrUnsupported }
