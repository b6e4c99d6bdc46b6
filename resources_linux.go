package berth

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berthlabs/berth/cgroups"
)

// errNoCgroup is wrapped by the methods that need the container's cgroup
// when it has none (the host's cgroups did not allow one).
var errNoCgroup = fmt.Errorf("container has no cgroup of its own: %w", errors.ErrUnsupported)

// group returns the container's cgroup and its current state: the reaper's
// Group for a container started here, else one loaded from the state
// (kept for later calls, such as a stats loop). A container that has
// exited gives an error wrapping os.ErrProcessDone.
func (c *Container) group() (*cgroups.Group, *State, error) {
	s, err := openStore(c.StateDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.load(c.ID)
	if err != nil {
		return nil, nil, err
	}
	if st.Status == StatusExited || st.PID == 0 || !alive(st.PID, st.PIDStart) {
		return nil, st, fmt.Errorf("container %q: %w", c.ID, os.ErrProcessDone)
	}
	if st.Cgroup == "" {
		return nil, st, fmt.Errorf("container %q: %w", c.ID, errNoCgroup)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.run != nil && c.run.cgroup != nil:
		return c.run.cgroup, st, nil
	case c.cgroupCache != nil:
		return c.cgroupCache, st, nil
	}
	g, err := cgroups.Load(st.Cgroup)
	if err != nil {
		return nil, st, fmt.Errorf("container %q: %w", c.ID, err)
	}
	c.cgroupCache = g
	return g, st, nil
}

// Pause freezes every process of the container (docker pause): they stop
// running until [Container.Resume], and the state says [StatusPaused].
// It returns once the kernel reports them frozen; if ctx ends first, the
// container is thawed again and ctx's error returned. Signals other than
// SIGKILL wait until Resume; Delete kills a paused container. It needs the
// container's cgroup and a freezer (errors.ErrUnsupported without).
func (c *Container) Pause(ctx context.Context) error {
	return c.setPaused(ctx, true)
}

// Resume thaws the processes Pause froze (docker unpause).
func (c *Container) Resume(ctx context.Context) error {
	return c.setPaused(ctx, false)
}

func (c *Container) setPaused(ctx context.Context, pause bool) error {
	op := map[bool]string{true: "pausing", false: "resuming"}[pause]
	g, st, err := c.group()
	if err != nil {
		return fmt.Errorf("%s container %q: %w", op, c.ID, err)
	}
	if pause {
		err = g.Freeze(ctx)
	} else {
		err = g.Thaw()
	}
	if err != nil {
		return fmt.Errorf("%s container %q: %w", op, c.ID, err)
	}
	st.Status = StatusRunning
	if pause {
		st.Status = StatusPaused
	}
	s, err := openStore(c.StateDir)
	if err == nil {
		err = s.update(st)
	}
	if err != nil {
		return fmt.Errorf("%s container %q: %w", op, c.ID, err)
	}
	return nil
}
