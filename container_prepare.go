package berth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/caps"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/namespaces"
)

// rlimitNofile is RLIMIT_NOFILE's number on Linux.
const rlimitNofile = 7

// defaultNofile is containerd's default open-files limit.
const defaultNofile = 1024

// validate checks the fields that need no system call.
func (c *Container) validate() error {
	if c.RootFS == "" && len(c.RootFSMounts) == 0 && c.Image == nil {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("RootFS is empty: %w", fs.ErrInvalid)}
	}
	if c.Image != nil && (c.rt == nil || len(c.RootFSMounts) > 0) {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("Image needs a Container from Runtime.NewContainer, without RootFSMounts: %w", fs.ErrInvalid)}
	}
	if err := c.Resources.Validate(); err != nil {
		return &InitError{Stage: initproto.StageCgroup, Err: err}
	}
	if len(c.Args) == 0 || c.Args[0] == "" {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("Args is empty: %w", fs.ErrInvalid)}
	}
	if c.ID != "" && !validID.MatchString(c.ID) {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("invalid container ID %q: %w", c.ID, fs.ErrInvalid)}
	}
	if c.Share&namespaces.Mount != 0 || c.Share&namespaces.User != 0 {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("sharing %v namespaces: %w", c.Share&(namespaces.Mount|namespaces.User), errors.ErrUnsupported)}
	}
	if c.UserNS != nil && (len(c.UserNS.UIDs) == 0 || len(c.UserNS.GIDs) == 0) {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("UserNS needs uid and gid maps: %w", fs.ErrInvalid)}
	}
	if c.UserNS != nil && os.Geteuid() != 0 {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("a user namespace without root (rootless): %w", errors.ErrUnsupported)}
	}
	if c.Dir != "" && !strings.HasPrefix(c.Dir, "/") {
		return &InitError{Stage: initproto.StageCwd, Err: fmt.Errorf("working directory %q is not absolute: %w", c.Dir, fs.ErrInvalid)}
	}
	if c.Detach && (c.Stdin != nil || c.Stdout != nil || c.Stderr != nil || len(c.ExtraFiles) > 0) {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("a detached container takes no Stdin, Stdout, Stderr or ExtraFiles: %w", fs.ErrInvalid)}
	}
	return nil
}

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// initialState computes, from the fields, everything the container's init
// and a later Exec need, as the State that Start records.
func (c *Container) initialState(callerLimit func(int) (soft, hard uint64, err error)) (*State, error) {
	capSet, err := caps.Resolve(c.Capabilities.Add, c.Capabilities.Drop, caps.KernelLast())
	if err != nil {
		return nil, &InitError{Stage: initproto.StageCaps, Err: err}
	}
	limits, err := c.rlimits(callerLimit)
	if err != nil {
		return nil, &InitError{Stage: initproto.StageRlimits, Err: err}
	}
	hostname := c.Hostname
	if hostname == "" {
		hostname = c.ID[:min(12, len(c.ID))]
	}
	env := withDefault(withDefault(append([]string(nil), c.Env...), "PATH", DefaultPath), "HOSTNAME", hostname)
	network, err := c.networkState(hostname, c.rt.bridgeConfig())
	if err != nil {
		return nil, &InitError{Stage: initproto.StageNetwork, Err: err}
	}
	share := c.Share
	if network != nil && network.Mode == NetworkHost {
		share |= namespaces.Net
	}
	if share&namespaces.UTS != 0 {
		hostname = ""
	}
	st := &State{
		ID: c.ID, Status: StatusCreated, Created: time.Now().UTC(),
		RootFS: c.RootFS, Args: c.Args, Env: env, Dir: c.Dir, User: c.User, Hostname: hostname,
		Share: share, UserNS: c.UserNS, Caps: capSet, NoNewPrivileges: !c.AllowNewPrivileges,
		Seccomp: !c.Unconfined, Rlimits: limits, TTY: c.TTY, ReadOnlyRootFS: c.ReadOnlyRootFS,
		AdditionalGroups: c.AdditionalGroups,
	}
	st.Mounts = c.Mounts
	st.RootFSMounts, st.Network, st.Resources = c.RootFSMounts, network, c.Resources
	if c.Resources != nil || cgroups.Mode() != cgroups.Unavailable {
		st.Cgroup = c.cgroupPath()
	}
	return st, nil
}

// rlimits returns c.Rlimits plus the NOFILE default, refusing any limit
// above the caller's hard limit.
func (c *Container) rlimits(callerLimit func(int) (soft, hard uint64, err error)) ([]Rlimit, error) {
	out := append([]Rlimit(nil), c.Rlimits...)
	hasNofile := false
	for _, l := range out {
		_, hard, err := callerLimit(l.Type)
		if err != nil {
			return nil, fmt.Errorf("reading limit %d: %w", l.Type, err)
		}
		if l.Soft > l.Hard {
			return nil, fmt.Errorf("limit %d: soft %d above hard %d: %w", l.Type, l.Soft, l.Hard, fs.ErrInvalid)
		}
		if l.Hard > hard {
			return nil, fmt.Errorf("limit %d: hard %d above the caller's %d: %w", l.Type, l.Hard, hard, fs.ErrPermission)
		}
		hasNofile = hasNofile || l.Type == rlimitNofile
	}
	if !hasNofile {
		_, hard, err := callerLimit(rlimitNofile)
		if err != nil {
			return nil, fmt.Errorf("reading open-files limit: %w", err)
		}
		n := min(uint64(defaultNofile), hard)
		out = append(out, Rlimit{Type: rlimitNofile, Soft: n, Hard: n})
	}
	return out, nil
}

// process is the initproto form of the state's process settings.
func (st *State) process(extraFiles int) initproto.Process {
	p := initproto.Process{
		Args: st.Args, Env: st.Env, Dir: st.Dir, User: st.User, AdditionalGroups: st.AdditionalGroups,
		Caps: st.Caps, CapLast: caps.KernelLast(), NoNewPrivileges: st.NoNewPrivileges,
		Seccomp: st.Seccomp, TTY: st.TTY, ExtraFiles: extraFiles,
	}
	for _, l := range st.Rlimits {
		p.Rlimits = append(p.Rlimits, initproto.Rlimit{Type: l.Type, Soft: l.Soft, Hard: l.Hard})
	}
	return p
}

// withDefault appends key=value to env unless env sets key.
func withDefault(env []string, key, value string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return env
		}
	}
	return append(env, key+"="+value)
}
