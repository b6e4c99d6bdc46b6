//go:build !linux

package layers

import (
	"context"
	"errors"
)

func copyTree(ctx context.Context, src, dst string) error { return errors.ErrUnsupported }

func diskUsage(ctx context.Context, dir string) (Usage, error) { return Usage{}, errors.ErrUnsupported }
