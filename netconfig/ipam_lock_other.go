//go:build !unix

package netconfig

import (
	"context"
	"errors"
	"fmt"
)

func lockFile(ctx context.Context, path string) (func(), error) {
	return nil, fmt.Errorf("locking %s: %w", path, errors.ErrUnsupported)
}
