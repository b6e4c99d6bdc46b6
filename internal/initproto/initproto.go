// Package initproto is the protocol between a Berth parent and the init it
// re-executes inside a container's namespaces (and the exec helper that
// joins a running container).
//
// Parent and child share one AF_UNIX stream socketpair; the child finds its
// end at fd 3. The parent does the host side (uid/gid maps, later cgroups
// and the network), then sends one [Config]. The child sets up the
// container and answers with [Message]s: a "pty" message carrying the
// terminal's master fd when a TTY was asked for, an "error" message naming
// the stage that failed, or an "exec" message right before execve(2).
// After a successful execve the socket, close-on-exec, reads EOF.
//
// Every frame is a 4-byte big-endian length and that many bytes of JSON;
// file descriptors travel as SCM_RIGHTS with the frame's first byte.
package initproto

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// MaxFrame bounds one frame. Larger frames are refused by both ends.
const MaxFrame = 8 << 20

// Stages of container setup, as named in errors. The parent's own stages
// come first.
const (
	StageStart     = "start"     // parent: re-executing the init
	StageIDMap     = "idmap"     // parent: writing uid/gid maps
	StageSnapshot  = "snapshot"  // parent: preparing the image's snapshot
	StageCgroup    = "cgroup"    // parent: creating and joining the cgroup
	StageHandshake = "handshake" // either side: talking over the socket
	StageConfig    = "config"    // child: reading and checking the config
	StageRootFS    = "rootfs"    // child: mounts, devices, masks, pivot_root
	StageHostname  = "hostname"  // child: sethostname
	StageNetwork   = "network"   // parent: veth, address, ports, /etc files; child: lo up
	StageTTY       = "tty"       // child: opening the pty and passing its master
	StageUser      = "user"      // child: resolving and switching user and groups
	StageRlimits   = "rlimits"   // child: setrlimit
	StageCwd       = "cwd"       // child: the working directory
	StageCaps      = "capabilities"
	StageNoNewPriv = "no_new_privs"
	StageSeccomp   = "seccomp"
	StageFDs       = "fds"  // child: moving extra files, close-on-exec for the rest
	StageExec      = "exec" // child: finding and executing the program
	StageJoin      = "join" // exec helper: joining the container's namespaces
)

// Rlimit is one resource limit, by its RLIMIT_* number.
type Rlimit struct {
	Type int    `json:"type"`
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

// Process is what every process started in a container gets: the
// container's init and the processes Exec adds.
type Process struct {
	Args             []string `json:"args"`
	Env              []string `json:"env,omitempty"`
	Dir              string   `json:"dir,omitempty"`
	User             string   `json:"user,omitempty"`
	AdditionalGroups []string `json:"additionalGroups,omitempty"`
	// Caps are the capability numbers of the bounding, permitted and
	// effective sets.
	Caps            []int    `json:"caps"`
	CapLast         int      `json:"capLast"`
	NoNewPrivileges bool     `json:"noNewPrivileges"`
	Rlimits         []Rlimit `json:"rlimits,omitempty"`
	Seccomp         bool     `json:"seccomp"`
	TTY             bool     `json:"tty,omitempty"`
	// ExtraFiles is how many files beyond the socket the parent passed,
	// at fds 4, 5, ...; they become 3, 4, ... in the process.
	ExtraFiles int `json:"extraFiles,omitempty"`
}

// Message is what the child sends to the parent.
type Message struct {
	Type  string `json:"type"` // "pty", "error" or "exec"
	Stage string `json:"stage,omitempty"`
	Error string `json:"error,omitempty"`
	// Errno is the syscall.Errno the error wraps, 0 if none.
	Errno int `json:"errno,omitempty"`
	// Category is "notexist", "exist", "permission" or "unsupported" when
	// the error wraps the matching standard error.
	Category string `json:"category,omitempty"`
	// PID is, for "exec" from the exec helper, the helper's PID as seen
	// in the container's PID namespace.
	PID int `json:"pid,omitempty"`
}

// ErrorMessage builds the "error" message for err at stage.
func ErrorMessage(stage string, err error) Message {
	m := Message{Type: "error", Stage: stage, Error: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		m.Errno = int(errno)
	}
	for _, c := range categories {
		if errors.Is(err, c.err) {
			m.Category = c.name
			break
		}
	}
	return m
}

var categories = []struct {
	name string
	err  error
}{
	{"notexist", fs.ErrNotExist},
	{"exist", fs.ErrExist},
	{"permission", fs.ErrPermission},
	{"unsupported", errors.ErrUnsupported},
}

// Err rebuilds the child's error: its text, with errors.Is matching its
// Errno and its Category's standard error.
func (m Message) Err() error {
	if m.Type != "error" {
		return nil
	}
	return &remoteError{msg: m.Error, errno: syscall.Errno(m.Errno), category: m.Category}
}

type remoteError struct {
	msg      string
	errno    syscall.Errno
	category string
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Is(target error) bool {
	for _, c := range categories {
		if c.name == e.category && target == c.err {
			return true
		}
	}
	if e.errno != 0 {
		if t, ok := target.(syscall.Errno); ok {
			return t == e.errno
		}
		return e.errno.Is(target)
	}
	return false
}

// Unwrap returns the errno, so that errors.As finds a syscall.Errno.
func (e *remoteError) Unwrap() error {
	if e.errno != 0 {
		return e.errno
	}
	return nil
}

// String names the message for logs.
func (m Message) String() string {
	if m.Type == "error" {
		return fmt.Sprintf("error at %s: %s", m.Stage, m.Error)
	}
	return m.Type
}

// Exec is the config of the exec helper that joins a running container.
type Exec struct {
	Process Process `json:"process"`
	// Join lists the CLONE_NEW* kinds of the namespace files passed after
	// the process's extra files (at fds 4+ExtraFiles, ...), in the order
	// they are joined. The mount namespace comes last.
	Join []uintptr `json:"join"`
	// HostIDs maps the resolved user to host IDs when the container has a
	// user namespace the helper cannot join: the process then runs as the
	// host IDs the container's IDs map to, with no capabilities.
	UIDMap []IDRange `json:"uidMap,omitempty"`
	GIDMap []IDRange `json:"gidMap,omitempty"`
}

// IDRange is one line of a uid_map or gid_map.
type IDRange struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

// ToHost maps id through ranges. It reports false when no range holds id.
func ToHost(ranges []IDRange, id uint32) (uint32, bool) {
	for _, r := range ranges {
		if id >= r.ContainerID && id-r.ContainerID < r.Size {
			return r.HostID + (id - r.ContainerID), true
		}
	}
	return 0, false
}
