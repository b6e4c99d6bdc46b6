//go:build !linux

package namespaces

import (
	"context"
	"fmt"
	"os/exec"

	"errors"
)

func command(_ context.Context, name string, _ Kind, _ []string) (*exec.Cmd, error) {
	return nil, fmt.Errorf("namespaces: command for entrypoint %q: %w", name, errors.ErrUnsupported)
}

func nameThread(string) {}
