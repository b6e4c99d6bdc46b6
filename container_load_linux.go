package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/berthlabs/berth/cgroups"
)

// Load finds the container id in stateDir ("" means [DefaultStateDir]),
// started by this or another process. The returned Container's fields
// describe it; Wait, Signal, Stop, Exec, State and Delete work on it;
// Start and Resize do not. An unknown ID gives an error wrapping
// fs.ErrNotExist.
func Load(ctx context.Context, stateDir, id string) (*Container, error) {
	s, err := openStore(stateDir)
	if err != nil {
		return nil, err
	}
	st, err := s.load(id)
	if err != nil {
		return nil, err
	}
	return fromState(s.dir, st), nil
}

func fromState(dir string, st *State) *Container {
	c := &Container{
		ID: st.ID, RootFS: st.RootFS, ReadOnlyRootFS: st.ReadOnlyRootFS, Mounts: st.Mounts, Args: st.Args,
		Env: st.Env, Dir: st.Dir, User: st.User, AdditionalGroups: st.AdditionalGroups, Hostname: st.Hostname,
		Share: st.Share, UserNS: st.UserNS, AllowNewPrivileges: !st.NoNewPrivileges, Rlimits: st.Rlimits,
		Unconfined: !st.Seccomp, TTY: st.TTY, Detach: st.Detached, StateDir: dir, LogMaxFiles: st.LogMaxFiles,
		RootFSMounts: st.RootFSMounts, Resources: st.Resources, Cgroup: st.Cgroup,
	}
	if st.Network != nil {
		c.Network = &Network{Mode: st.Network.Mode, Ports: st.Network.Config.Ports, DNS: st.Network.Config.DNS, Hosts: st.Network.Config.Hosts}
	}
	c.loaded = st
	return c
}

// List returns the state of every container in stateDir ("" means
// [DefaultStateDir]), oldest first. A container whose process is gone
// although no exit was recorded (its owner crashed) is listed as exited
// with exit code -1; [GC] removes it.
func List(ctx context.Context, stateDir string) ([]*State, error) {
	s, err := openStore(stateDir)
	if err != nil {
		return nil, err
	}
	states, _, err := s.list()
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if (st.Status == StatusRunning || st.Status == StatusPaused) && !alive(st.PID, st.PIDStart) {
			st.Status, st.ExitCode = StatusExited, -1
		}
	}
	slices.SortFunc(states, func(a, b *State) int { return a.Created.Compare(b.Created) })
	return states, nil
}

// GC removes what crashed programs left in stateDir ("" means
// [DefaultStateDir]): every container whose owner (the program that
// started it, or its monitor) is gone, killing its processes first if
// they still run and releasing its cgroup, network and snapshot, and
// half-created state. Exited detached containers stay
// until deleted, like docker's stopped containers. It returns the IDs it
// removed. It is safe to run at any time, also concurrently with Start.
func GC(ctx context.Context, stateDir string) ([]string, error) {
	return gc(ctx, stateDir, nil)
}

// gc is GC with rt's snapshotter for the snapshots it holds (nil: each is
// opened).
func gc(ctx context.Context, stateDir string, rt *Runtime) ([]string, error) {
	s, err := openStore(stateDir)
	if err != nil {
		return nil, err
	}
	states, pending, err := s.list()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, st := range states {
		if alive(st.OwnerPID, st.OwnerStart) || (st.Detached && st.Status == StatusExited) {
			continue
		}
		if err := killAndWait(ctx, st); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := errors.Join(releaseOrphan(ctx, s, st), rt.removeSnapshot(ctx, st.Snapshot)); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.remove(st.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, st.ID)
	}
	for path, st := range pending {
		if err := gcPending(ctx, path, st); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// pendingGrace is how old an unreadable half-created directory must be
// before GC removes it: its creator may be writing its state right now.
const pendingGrace = time.Minute

func gcPending(ctx context.Context, path string, st *State) error {
	if st == nil {
		info, err := os.Stat(path)
		if err != nil || time.Since(info.ModTime()) < pendingGrace {
			return nil
		}
		return os.RemoveAll(path)
	}
	if alive(st.OwnerPID, st.OwnerStart) {
		return nil
	}
	if err := killAndWait(ctx, st); err != nil {
		return err
	}
	return os.RemoveAll(path)
}

// killAndWait kills the container's init if it is still the process
// recorded, and waits until it is gone.
func killAndWait(ctx context.Context, st *State) error {
	if st.PID == 0 {
		return nil
	}
	h, err := openProc(st.PID, st.PIDStart)
	if err != nil {
		return nil // gone already
	}
	defer h.close()
	if err := h.signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing container %q: %w", st.ID, err)
	}
	if _, err := h.wait(ctx); err != nil {
		return fmt.Errorf("killing container %q: %w", st.ID, err)
	}
	return nil
}

// exitRecordWait is how long waitLoaded waits, after the process is gone,
// for its owner to record the exit code.
const exitRecordWait = 5 * time.Second

func (c *Container) waitLoaded(ctx context.Context, st *State) (int, error) {
	s, err := openStore(c.StateDir)
	if err != nil {
		return -1, err
	}
	if cur, err := s.load(c.ID); err == nil && cur.Status == StatusExited {
		return cur.ExitCode, exitErr(cur)
	}
	if h, err := openProc(st.PID, st.PIDStart); err == nil {
		_, err := h.wait(ctx)
		h.close()
		if err != nil {
			return -1, err
		}
	}
	deadline := time.Now().Add(exitRecordWait)
	for {
		cur, err := s.load(c.ID)
		if err != nil {
			return -1, fmt.Errorf("waiting for container %q: %w", c.ID, err)
		}
		if cur.Status == StatusExited {
			return cur.ExitCode, exitErr(cur)
		}
		if !alive(cur.OwnerPID, cur.OwnerStart) || time.Now().After(deadline) {
			return -1, fmt.Errorf("waiting for container %q: exit status not recorded (owner %d gone): %w", c.ID, cur.OwnerPID, fs.ErrNotExist)
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *Container) deleteLoaded(ctx context.Context, st *State) error {
	s, err := openStore(c.StateDir)
	if err != nil {
		return err
	}
	cur, err := s.load(c.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Status != StatusExited {
		thawCgroup(cur)
		if err := killAndWait(ctx, cur); err != nil {
			return fmt.Errorf("deleting container %q: %w", c.ID, err)
		}
		if alive(cur.OwnerPID, cur.OwnerStart) {
			// Let the owner release the container, record the exit and
			// finish with the log before the directory goes.
			_, _ = c.waitLoaded(ctx, cur)
		}
		if now, err := s.load(c.ID); err == nil && now.Status != StatusExited {
			if err := releaseOrphan(ctx, s, now); err != nil {
				return fmt.Errorf("deleting container %q: %w", c.ID, err)
			}
		}
	}
	if err := c.rt.removeSnapshot(ctx, cur.Snapshot); err != nil {
		return fmt.Errorf("deleting container %q: %w", c.ID, err)
	}
	return s.remove(c.ID)
}

// exitErr is the error Wait returns with the exit code recorded in st.
func exitErr(st *State) error {
	if st.OOMKilled && st.ExitCode == signalExitBase+int(syscall.SIGKILL) {
		return fmt.Errorf("container %q: %w", st.ID, ErrOOMKilled)
	}
	return nil
}

// thawCgroup thaws a paused container's cgroup, so that a kill takes
// effect; errors are left to the kill that follows.
func thawCgroup(st *State) {
	if st.Cgroup == "" {
		return
	}
	if g, err := cgroups.Load(st.Cgroup); err == nil {
		_ = g.Thaw()
		g.Close()
	}
}

// logPath returns where a detached container's log is.
func (s *store) logPath(id string) string { return filepath.Join(s.containerDir(id), "log.json") }
