package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// errNotStarted is wrapped by methods called before Start.
var errNotStarted = errors.New("container not started")

// Wait waits for the container's program to exit and returns its exit
// code: its status, or 128+N when signal N killed it. For a container
// started here it also waits for its output to be copied and for its
// cgroup and network to be released. Cancelling ctx stops the waiting,
// not the container; Wait can be called again. For a container found by
// [Load] or started with Detach, the exit code is the one the monitor
// recorded; if nobody recorded it (the monitor died), Wait returns -1 and
// an error. When the OOM killer killed the program (code 137) because the
// container reached its memory limit, the error wraps [ErrOOMKilled].
func (c *Container) Wait(ctx context.Context) (int, error) {
	c.mu.Lock()
	r, st := c.run, c.loaded
	c.mu.Unlock()
	switch {
	case r != nil:
		select {
		case <-r.done:
			return r.code, r.waitErr
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	case st != nil:
		return c.waitLoaded(ctx, st)
	}
	return -1, fmt.Errorf("waiting for container %q: %w", c.ID, errNotStarted)
}

// Run starts the container, waits for it and deletes it, returning the
// exit code, and Wait's error (such as one wrapping [ErrOOMKilled]).
// Cancelling ctx kills the container (like exec.CommandContext).
func (c *Container) Run(ctx context.Context) (code int, retErr error) {
	if err := c.Start(ctx); err != nil {
		return -1, err
	}
	defer func() { retErr = errors.Join(retErr, c.Delete(context.WithoutCancel(ctx))) }()
	stop := context.AfterFunc(ctx, func() { _ = c.Signal(syscall.SIGKILL) })
	defer stop()
	code, err := c.Wait(context.WithoutCancel(ctx))
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return code, err
}

// Signal sends sig to the container's init (PID 1 inside). As in any PID
// namespace, PID 1 ignores signals it installed no handler for, except
// SIGKILL and SIGSTOP. After the container exited Signal returns an error
// wrapping os.ErrProcessDone.
func (c *Container) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signalling container %q: %v: %w", c.ID, sig, errors.ErrUnsupported)
	}
	c.mu.Lock()
	r, st := c.run, c.loaded
	c.mu.Unlock()
	switch {
	case r != nil:
		select {
		case <-r.done:
			return fmt.Errorf("signalling container %q: %w", c.ID, os.ErrProcessDone)
		default:
		}
		if err := r.proc.signal(s); err != nil {
			return fmt.Errorf("signalling container %q: %w", c.ID, err)
		}
		return nil
	case st != nil:
		h, err := openProc(st.PID, st.PIDStart)
		if err != nil || st.Status == StatusExited {
			return fmt.Errorf("signalling container %q: %w", c.ID, os.ErrProcessDone)
		}
		defer h.close()
		if err := h.signal(s); err != nil {
			return fmt.Errorf("signalling container %q: %w", c.ID, err)
		}
		return nil
	}
	return fmt.Errorf("signalling container %q: %w", c.ID, errNotStarted)
}

// Stop sends SIGTERM, waits up to grace for the container to exit, then
// sends SIGKILL and waits for it (docker stop -t). It returns the exit
// code. A container that already exited is not an error.
func (c *Container) Stop(ctx context.Context, grace time.Duration) (int, error) {
	if err := c.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, err
	}
	gctx, cancel := context.WithTimeout(ctx, grace)
	code, err := c.Wait(gctx)
	cancel()
	if err == nil || ctx.Err() != nil {
		return code, err
	}
	if err := c.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, err
	}
	return c.Wait(ctx)
}

// Resize sets the size of the container's terminal, in characters. It
// needs TTY and a container started by this process (not found by Load).
func (c *Container) Resize(width, height uint16) error {
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	if r == nil || r.tty == nil {
		return fmt.Errorf("resizing terminal of container %q: no terminal here: %w", c.ID, fs.ErrInvalid)
	}
	return resizePTY(r.tty, width, height)
}

// PID returns the host PID of the container's init, or 0 before Start.
func (c *Container) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.run != nil:
		return c.run.pid
	case c.loaded != nil:
		return c.loaded.PID
	}
	return 0
}

// State reads the container's current state from the state directory.
// After Delete it returns an error wrapping fs.ErrNotExist.
func (c *Container) State(ctx context.Context) (*State, error) {
	s, err := openStore(c.StateDir)
	if err != nil {
		return nil, err
	}
	return s.load(c.ID)
}

// Delete removes the container: it kills every process of it (SIGKILL to
// the whole cgroup, paused or not) if it still runs, waits for it, releases
// its cgroup and network, and removes its snapshot, state and log.
// Deleting twice is not an error. ctx bounds the wait.
func (c *Container) Delete(ctx context.Context) error {
	c.mu.Lock()
	r, st := c.run, c.loaded
	c.mu.Unlock()
	switch {
	case r != nil:
		if err := r.kill(ctx); err != nil {
			return fmt.Errorf("deleting container %q: %w", c.ID, err)
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("deleting container %q: %w", c.ID, ctx.Err())
		}
		if r.tty != nil {
			r.tty.Close()
		}
		return errors.Join(c.rt.removeSnapshot(ctx, r.st.Snapshot), r.store.remove(c.ID))
	case st != nil:
		return c.deleteLoaded(ctx, st)
	}
	return fmt.Errorf("deleting container %q: %w", c.ID, errNotStarted)
}

// kill kills the init and thaws the cgroup, so that a paused container
// dies too; the reaper then kills the rest of the cgroup.
func (r *running) kill(ctx context.Context) error {
	err := r.proc.signal(syscall.SIGKILL)
	if err != nil && !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, os.ErrClosed) {
		return err
	}
	select {
	case <-r.done:
		return nil
	default:
	}
	if g := r.cgroup; g != nil {
		_ = g.Thaw() // fails only once the reaper deleted the group
	}
	return nil
}
