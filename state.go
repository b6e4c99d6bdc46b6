package berth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/namespaces"
)

// DefaultStateDir is where containers keep their state when
// [Container.StateDir] is empty: a directory only root can enter
// (CVE-2021-41103).
const DefaultStateDir = "/run/berth"

// Status is where a container is in its life.
type Status string

// The statuses a [State] records.
const (
	StatusCreated Status = "created" // Start is setting it up
	StatusRunning Status = "running" // its process runs
	StatusExited  Status = "exited"  // its process has ended; ExitCode is set
	StatusPaused  Status = "paused"  // its processes are frozen (Pause)
)

// State is what the state directory records about a container: enough for
// another process to find, signal, exec into, wait for and delete it.
type State struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// PID is the container's init as the host sees it; 0 until running.
	PID int `json:"pid,omitempty"`
	// PIDStart is the init's start time in clock ticks since boot
	// (/proc/PID/stat field 22), to tell it from a later process that
	// reuses the PID.
	PIDStart uint64 `json:"pidStart,omitempty"`
	// OwnerPID and OwnerStart identify the process responsible for the
	// container: the program that started it, or the monitor when
	// Detached. When the owner is gone and the container has not exited,
	// [GC] removes it.
	OwnerPID   int       `json:"ownerPID"`
	OwnerStart uint64    `json:"ownerStart"`
	Detached   bool      `json:"detached,omitempty"`
	ExitCode   int       `json:"exitCode,omitempty"`
	Created    time.Time `json:"created"`
	Started    time.Time `json:"started,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`

	// The container's configuration, for inspect and for Exec.
	RootFS           string                 `json:"rootfs"`
	Args             []string               `json:"args"`
	Env              []string               `json:"env,omitempty"`
	Dir              string                 `json:"dir,omitempty"`
	User             string                 `json:"user,omitempty"`
	Hostname         string                 `json:"hostname,omitempty"`
	Share            namespaces.Kind        `json:"share,omitempty"`
	UserNS           *UserNS                `json:"userns,omitempty"`
	Caps             []int                  `json:"caps"`
	NoNewPrivileges  bool                   `json:"noNewPrivileges"`
	Seccomp          bool                   `json:"seccomp"`
	Rlimits          []Rlimit               `json:"rlimits,omitempty"`
	TTY              bool                   `json:"tty,omitempty"`
	ReadOnlyRootFS   bool                   `json:"readOnlyRootfs,omitempty"`
	Mounts           []namespaces.MountSpec `json:"mounts,omitempty"`
	AdditionalGroups []string               `json:"additionalGroups,omitempty"`
	// LogPath is the log of a detached container, "" otherwise.
	LogPath     string `json:"logPath,omitempty"`
	LogMaxFiles int    `json:"logMaxFiles,omitempty"`

	// RootFSMounts are mounted on RootFS in the container (see
	// [Container.RootFSMounts]).
	RootFSMounts []layers.Mount `json:"rootfsMounts,omitempty"`
	// Snapshot is the container's own snapshot of its image, removed
	// with the container; nil for a container on a plain directory.
	Snapshot *SnapshotRef `json:"snapshot,omitempty"`
	// Image is the digest of the image's manifest, "" without an image.
	Image string `json:"image,omitempty"`
	// Cgroup is the container's cgroup path, "" when it runs in its
	// starter's cgroup.
	Cgroup string `json:"cgroup,omitempty"`
	// Resources are the limits applied to Cgroup.
	Resources *cgroups.Resources `json:"resources,omitempty"`
	// Network is the container's network, nil for none without /etc
	// files.
	Network *NetworkState `json:"network,omitempty"`
	// OOMKilled is set once the container exited when the kernel's OOM
	// killer had killed a process of it (its memory limit was reached).
	OOMKilled bool `json:"oomKilled,omitempty"`
}

// SnapshotRef names a container's snapshot so that any process can
// remove it: the snapshotter's kind ("overlay" or "copy"), its root
// directory and the snapshot's key.
type SnapshotRef struct {
	Snapshotter string `json:"snapshotter"`
	Root        string `json:"root"`
	Key         string `json:"key"`
}

// store is a state directory: DIR/containers/ID/state.json, a journal of
// the container's states (see state_journal.go) to which updates append
// atomically. Directories being created are DIR/containers/.new-ID-*,
// renamed into place once their state exists.
type store struct {
	dir string
}

const stateFile = "state.json"

func openStore(dir string) (*store, error) {
	if dir == "" {
		dir = DefaultStateDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening state directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, "containers"), 0o700); err != nil {
		return nil, fmt.Errorf("opening state directory %q: %w", dir, err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return nil, fmt.Errorf("opening state directory %q: %w", dir, err)
	}
	return &store{dir: abs}, nil
}

func (s *store) containerDir(id string) string { return filepath.Join(s.dir, "containers", id) }

// create records st under a new directory for st.ID, failing with an error
// wrapping fs.ErrExist when the ID is taken.
func (s *store) create(st *State) (retErr error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "containers"), ".new-"+st.ID+"-")
	if err != nil {
		return fmt.Errorf("creating state of %q: %w", st.ID, err)
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, os.RemoveAll(tmp))
		}
	}()
	if err := writeNewJournal(filepath.Join(tmp, stateFile), st); err != nil {
		return fmt.Errorf("creating state of %q: %w", st.ID, err)
	}
	final := s.containerDir(st.ID)
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("creating state of %q: container exists: %w", st.ID, fs.ErrExist)
	}
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return fmt.Errorf("creating state of %q: container exists: %w", st.ID, fs.ErrExist)
		}
		return fmt.Errorf("creating state of %q: %w", st.ID, err)
	}
	return nil
}

// update rewrites the state of an existing container. It fails with an
// error wrapping fs.ErrNotExist when the container was deleted meanwhile.
func (s *store) update(st *State) error {
	if err := appendJournal(filepath.Join(s.containerDir(st.ID), stateFile), st); err != nil {
		return fmt.Errorf("updating state of %q: %w", st.ID, err)
	}
	return nil
}

func (s *store) load(id string) (*State, error) {
	if !validID.MatchString(id) {
		return nil, fmt.Errorf("loading container %q: invalid ID: %w", id, fs.ErrNotExist)
	}
	st, err := readState(filepath.Join(s.containerDir(id), stateFile))
	if err != nil {
		return nil, fmt.Errorf("loading container %q: %w", id, err)
	}
	return st, nil
}

func readState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rec, ok := lastRecord(data)
	if !ok {
		return nil, fmt.Errorf("decoding %s: no complete record", path)
	}
	var st State
	if err := json.Unmarshal(rec, &st); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return &st, nil
}

// list returns the states of all containers, and the paths of directories
// being created (".new-*") with their states when readable.
func (s *store) list() (states []*State, pending map[string]*State, err error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "containers"))
	if err != nil {
		return nil, nil, fmt.Errorf("listing containers: %w", err)
	}
	pending = map[string]*State{}
	for _, e := range entries {
		path := filepath.Join(s.dir, "containers", e.Name())
		st, err := readState(filepath.Join(path, stateFile))
		if strings.HasPrefix(e.Name(), ".new-") {
			if err != nil {
				st = nil
			}
			pending[path] = st
			continue
		}
		if err != nil {
			continue // deleted meanwhile, or torn by a crash: GC's job
		}
		states = append(states, st)
	}
	return states, pending, nil
}

func (s *store) remove(id string) error {
	if err := os.RemoveAll(s.containerDir(id)); err != nil {
		return fmt.Errorf("removing state of %q: %w", id, err)
	}
	return nil
}

// idShape matches container IDs: 1 to 128 ASCII letters, digits, '_', '.'
// and '-', the first a letter or digit.
type idShape struct{}

// MatchString reports whether id is a valid container ID.
func (idShape) MatchString(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}
