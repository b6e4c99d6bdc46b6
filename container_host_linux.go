package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/netconfig"
)

// hostSide is what a container holds on the host: its cgroup and its
// network attachment. The process that started the container (or its
// monitor) releases them when the init exits; GC and Delete do it for a
// container whose owner is gone.
type hostSide struct {
	store *store
	group *cgroups.Group
	// cgroupDir is the v2 cgroup directory the init is born in; open only
	// while spawning.
	cgroupDir *os.File
	att       *netconfig.Attachment
}

// newCgroup creates st's cgroup, with the default device rules where the
// host has a devices controller. Without Resources a failure (no cgroups,
// no permission) is not an error: st.Cgroup is cleared and the container
// runs in its starter's cgroup.
func newCgroup(st *State) (*cgroups.Group, error) {
	if st.Cgroup == "" {
		return nil, nil
	}
	r := st.Resources
	if cgroups.Mode() != cgroups.Unified {
		r = withDefaultDevices(st.Resources)
	}
	g, err := cgroups.New(st.Cgroup, r)
	if errors.Is(err, errors.ErrUnsupported) && r != st.Resources {
		g, err = cgroups.New(st.Cgroup, st.Resources) // no devices controller
	}
	if err != nil && st.Resources == nil && !errors.Is(err, fs.ErrExist) {
		st.Cgroup = ""
		return nil, nil
	}
	if err != nil {
		return nil, &InitError{Stage: initproto.StageCgroup, Err: err}
	}
	return g, nil
}

// openCgroupDir opens the group's v2 directory for CLONE_INTO_CGROUP; on
// v1 it leaves it nil, and joinCgroup moves the init instead.
func (h *hostSide) openCgroupDir() {
	if h.group == nil {
		return
	}
	if f, err := h.group.OpenDir(); err == nil {
		h.cgroupDir = f
	}
}

// joinCgroup puts the spawned init into the cgroup, unless it was born
// there (v2), before it is let go on (see starting.configure): it cannot
// exec the program before that.
func (h *hostSide) joinCgroup(pid int) error {
	if h.cgroupDir != nil {
		h.cgroupDir.Close()
		h.cgroupDir = nil
		return nil
	}
	if h.group == nil {
		return nil
	}
	if err := h.group.AddProc(pid); err != nil {
		return &InitError{Stage: initproto.StageCgroup, Err: err}
	}
	return nil
}

// release kills what is left in the container's cgroup and deletes it,
// and takes the container off its network (veth, lease, ports, the other
// containers' /etc/hosts). It reports whether the OOM killer killed a
// process of the container. Everything is tried; errors are joined.
func (h *hostSide) release(ctx context.Context, st *State) (oomKilled bool, err error) {
	var errs []error
	if h.cgroupDir != nil {
		h.cgroupDir.Close()
		h.cgroupDir = nil
	}
	if h.group != nil {
		if n, err := h.group.OOMKills(); err == nil {
			oomKilled = n > 0
		}
		if err := h.group.Delete(ctx, &cgroups.DeleteOptions{Kill: true}); err != nil {
			errs = append(errs, err)
		}
		h.group = nil
	}
	errs = append(errs, h.releaseNetwork(ctx, st))
	return oomKilled, errors.Join(errs...)
}

func (h *hostSide) releaseNetwork(ctx context.Context, st *State) error {
	if st.Network == nil || st.Network.Mode != NetworkBridge {
		return nil
	}
	var err error
	if h.att != nil {
		err = h.att.Detach(ctx)
		h.att = nil
	} else {
		err = detachFromState(ctx, st.Network)
	}
	if err != nil {
		err = fmt.Errorf("detaching network of container %q: %w", st.ID, err)
	}
	if h.store == nil {
		return err
	}
	return errors.Join(err, h.store.refreshHosts(st.Network.bridge(), st.ID))
}

// detachFromState undoes a bridge attachment whose Attachment lived in
// another process.
func detachFromState(ctx context.Context, n *NetworkState) error {
	hostNS, err := openNetNS(n.HostNetNS)
	if err != nil {
		return err
	}
	if hostNS != nil {
		defer hostNS.Close()
	}
	return netconfig.Detach(ctx, hostNS, n.Config)
}

// openNetNS opens the network namespace file at path; "" gives nil, the
// caller's namespace.
func openNetNS(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening host network namespace: %w", err)
	}
	return f, nil
}

// hostOf rebuilds the host side of a container from its state, for a
// process other than its owner: the cgroup if it still exists.
func hostOf(s *store, st *State) *hostSide {
	h := &hostSide{store: s}
	if st.Cgroup != "" {
		if g, err := cgroups.Load(st.Cgroup); err == nil {
			h.group = g
		}
	}
	return h
}

// releaseOrphan releases the host side of a container whose owner is
// gone, after its processes were killed.
func releaseOrphan(ctx context.Context, s *store, st *State) error {
	_, err := hostOf(s, st).release(ctx, st)
	return err
}

// prepareHost makes what the init needs before it is spawned: the cgroup
// (with, on v2, the directory it is born in), and the mount point of
// RootFSMounts when RootFS is not given.
func (s *starting) prepareHost() error {
	s.host = &hostSide{store: s.store}
	if len(s.st.RootFSMounts) > 0 && s.st.RootFS == "" {
		s.st.RootFS = filepath.Join(s.store.containerDir(s.st.ID), "rootfs")
		if err := os.Mkdir(s.st.RootFS, 0o755); err != nil {
			return &InitError{Stage: initproto.StageRootFS, Err: err}
		}
	}
	g, err := newCgroup(s.st)
	if err != nil {
		return err
	}
	s.host.group = g
	s.host.openCgroupDir()
	return nil
}
