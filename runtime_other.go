//go:build !linux

package berth

import (
	"context"
	"errors"
)

// Open returns an error wrapping errors.ErrUnsupported off Linux.
func Open(root string, opts ...RuntimeOption) (*Runtime, error) { return nil, errors.ErrUnsupported }

// Close returns an error wrapping errors.ErrUnsupported off Linux.
func (rt *Runtime) Close() error { return errors.ErrUnsupported }

// NewContainer returns a Container whose Start fails off Linux.
func (rt *Runtime) NewContainer(img *Image) *Container {
	return &Container{StateDir: rt.stateDir, Image: img, rt: rt}
}

// Load returns an error wrapping errors.ErrUnsupported off Linux.
func (rt *Runtime) Load(ctx context.Context, id string) (*Container, error) {
	return nil, errors.ErrUnsupported
}

// List returns an error wrapping errors.ErrUnsupported off Linux.
func (rt *Runtime) List(ctx context.Context) ([]*State, error) { return nil, errors.ErrUnsupported }

// GC returns an error wrapping errors.ErrUnsupported off Linux.
func (rt *Runtime) GC(ctx context.Context) ([]string, error) { return nil, errors.ErrUnsupported }
