//go:build !linux

package main

import (
	"context"
	"errors"
	"io"

	"github.com/berthlabs/berth"
)

// exportContainer is Linux-only.
func exportContainer(context.Context, *berth.State, io.Writer) error { return errors.ErrUnsupported }
