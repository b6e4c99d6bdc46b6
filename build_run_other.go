//go:build !linux

package berth

import (
	"context"
	"errors"
	"fmt"
)

// runContainer fails: RUN needs Linux containers.
func (b *builder) runContainer(context.Context, *stageState, *runSpec, BuildEvent) (cacheEntry, error) {
	return cacheEntry{}, fmt.Errorf("RUN: %w", errors.ErrUnsupported)
}
