//go:build !linux

package layers_test

import (
	"context"
	"errors"
)

func runHelper(ctx context.Context, role string) error { return errors.ErrUnsupported }
