//go:build !linux

package berth

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// Containers need Linux: off Linux every entrypoint and method returns an
// error wrapping errors.ErrUnsupported.

func containerInit(context.Context) error { return errors.ErrUnsupported }
func execInit(context.Context) error      { return errors.ErrUnsupported }
func monitorMain(context.Context) error   { return errors.ErrUnsupported }

type procHandle struct{}

type hostSide struct{}

// Start returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Start(ctx context.Context) error { return errors.ErrUnsupported }

// Wait returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Wait(ctx context.Context) (int, error) { return -1, errors.ErrUnsupported }

// Run returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Run(ctx context.Context) (int, error) { return -1, errors.ErrUnsupported }

// Signal returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Signal(sig os.Signal) error { return errors.ErrUnsupported }

// Stop returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Stop(ctx context.Context, grace time.Duration) (int, error) {
	return -1, errors.ErrUnsupported
}

// Resize returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Resize(width, height uint16) error { return errors.ErrUnsupported }

// PID returns 0 off Linux.
func (c *Container) PID() int { return 0 }

// State returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) State(ctx context.Context) (*State, error) { return nil, errors.ErrUnsupported }

// Delete returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Delete(ctx context.Context) error { return errors.ErrUnsupported }

// Exec returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Exec(ctx context.Context, p *Process) error { return errors.ErrUnsupported }

// Logs returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Logs(ctx context.Context, follow bool, fn func(LogEntry) error) error {
	return errors.ErrUnsupported
}

// LogEntry is one record of a detached container's log.
type LogEntry struct {
	Time   time.Time
	Stream string
	Text   string
}

// Load returns an error wrapping errors.ErrUnsupported off Linux.
func Load(ctx context.Context, stateDir, id string) (*Container, error) {
	return nil, errors.ErrUnsupported
}

// List returns an error wrapping errors.ErrUnsupported off Linux.
func List(ctx context.Context, stateDir string) ([]*State, error) { return nil, errors.ErrUnsupported }

// GC returns an error wrapping errors.ErrUnsupported off Linux.
func GC(ctx context.Context, stateDir string) ([]string, error) { return nil, errors.ErrUnsupported }

// Wait returns an error wrapping errors.ErrUnsupported off Linux.
func (p *Process) Wait(ctx context.Context) (int, error) { return -1, errors.ErrUnsupported }

// Signal returns an error wrapping errors.ErrUnsupported off Linux.
func (p *Process) Signal(sig syscall.Signal) error { return errors.ErrUnsupported }

// Resize returns an error wrapping errors.ErrUnsupported off Linux.
func (p *Process) Resize(width, height uint16) error { return errors.ErrUnsupported }

// PID returns 0 off Linux.
func (p *Process) PID() int { return 0 }

// Pause returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Pause(ctx context.Context) error { return errors.ErrUnsupported }

// Resume returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Resume(ctx context.Context) error { return errors.ErrUnsupported }

// Stats returns an error wrapping errors.ErrUnsupported off Linux.
func (c *Container) Stats(ctx context.Context) (*Stats, error) { return nil, errors.ErrUnsupported }

// eventLoop is the monitor's event loop, which only Linux has.
type eventLoop struct{}
