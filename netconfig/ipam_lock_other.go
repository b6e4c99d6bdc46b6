//go:build !unix

package netconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
)

func lockFile(ctx context.Context, path string, flag int) (*os.File, func(), error) {
	return nil, nil, fmt.Errorf("locking %s: %w", path, errors.ErrUnsupported)
}
