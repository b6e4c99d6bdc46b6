package berth

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/namespaces"
)

// Container is a process tree isolated in its own namespaces on its own
// root filesystem, shaped like exec.Cmd: fill in the fields, then call
// [Container.Start] (or [Container.Run]), [Container.Wait] and
// [Container.Delete].
//
// The zero value of every field is the safe choice: fully isolated (every
// namespace but the user namespace is new), Docker's default 14
// capabilities, no_new_privs set, the default seccomp profile, open files
// limited to 1024, a cgroup of its own with the default device allowlist,
// no network but loopback. Opting out is always an explicit field.
//
// On the host a container holds its cgroup, its network (veth, IP lease,
// published ports) and, when made from an image, a snapshot. The cgroup
// and the network are released as soon as its init exits (the process
// that started it, or the monitor for Detach, does that); the snapshot and
// the state when it is deleted. [GC] releases all of it after a crash.
// A [Runtime] (see [Open]) supplies what containers share: images,
// snapshots, the bridge and its IP leases.
//
// A Container is single-use: it cannot be started twice. Its methods are
// safe for concurrent use once Start has returned; do not change the fields
// after Start.
type Container struct {
	// ID names the container in the state directory, in logs and as the
	// default hostname. It holds 1 to 128 characters of [a-zA-Z0-9_.-],
	// the first alphanumeric. Empty means Start picks a random 64-hex-digit
	// ID (like Docker) and stores it here.
	ID string

	// RootFS is the host directory that becomes the container's "/".
	// Required, unless RootFSMounts or Image give the root filesystem. It
	// is bind-mounted on itself in the container's mount namespace; the
	// host's view of it is not changed.
	RootFS string

	// RootFSMounts, when not empty, are mounted on RootFS first thing in
	// the container's mount namespace ([layers.MountAll]), so that the
	// host's mount table never shows them and they vanish with the
	// container: usually the overlay of a snapshot from
	// [layers.Snapshotter.Prepare]. RootFS may then be empty: the mount
	// point is a directory in the container's state directory. Nil: RootFS
	// is used as it is.
	RootFSMounts []layers.Mount

	// Image, set by [Runtime.NewContainer], is the image the container
	// runs on: Start prepares a new snapshot of it (unpacking the image
	// into the Runtime's snapshotter first if need be), the init mounts it
	// as the container's "/" (as it would RootFSMounts, which must then be
	// empty), and Delete removes the snapshot, so that every
	// container of one image shares its unpacked layers and owns only its
	// changes. Setting Image on a Container that did not come from
	// Runtime.NewContainer makes Start fail (fs.ErrInvalid).
	Image *Image

	// ReadOnlyRootFS remounts "/" read-only once the container's mounts are
	// in place (docker run --read-only). False: writable.
	ReadOnlyRootFS bool

	// Mounts are added after the default ones (/proc, /dev, /dev/pts,
	// /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup), in order. Targets are
	// paths inside the container, resolved without leaving the rootfs. A
	// read-only bind mount of a host directory (docker run -v dir:/data:ro)
	// is {Source: dir, Target: "/data", Options: []string{"rbind", "ro"}}.
	Mounts []namespaces.MountSpec

	// Args is the program and its arguments. Required. Args[0] without a
	// "/" is looked up in the container's PATH, inside the container.
	Args []string

	// Env is the environment, "KEY=value". PATH defaults to
	// [DefaultPath], HOME to the user's home directory and HOSTNAME to the
	// hostname when Env does not set them. Nothing is inherited from the
	// calling process.
	Env []string

	// Dir is the working directory inside the container; "" means "/".
	// It must exist and must be a directory.
	Dir string

	// User is "user", "uid", "user:group" or "uid:gid", resolved against
	// the container's /etc/passwd and /etc/group (read inside the
	// container). "" means root. An unknown name fails Start at stage
	// "user" with an error wrapping fs.ErrNotExist.
	User string

	// AdditionalGroups are supplementary groups (names or gids) on top of
	// those /etc/group gives the user (docker run --group-add).
	AdditionalGroups []string

	// Hostname is the container's hostname; "" means the first 12
	// characters of ID. Ignored when UTS is in Share.
	Hostname string

	// Share lists the namespaces shared with the caller, as a set of
	// namespaces kinds. Zero means fully isolated. Sharing the mount
	// namespace is not supported (Start wraps errors.ErrUnsupported), nor
	// the user namespace (it is only ever new, see UserNS).
	Share namespaces.Kind

	// UserNS, when not nil, runs the container in a new user namespace
	// with these ID maps. Nil: no user namespace; container root is host
	// root, confined by capabilities, seccomp and no_new_privs.
	UserNS *UserNS

	// Capabilities adjusts Docker's default set of 14 capabilities. The
	// zero value is the default set.
	Capabilities Capabilities

	// AllowNewPrivileges leaves no_new_privs unset, so that set-uid
	// programs and file capabilities work. False (the default): set.
	AllowNewPrivileges bool

	// Rlimits are resource limits for the container's processes. Limits
	// not listed are the caller's, except RLIMIT_NOFILE which defaults to
	// 1024:1024 (containerd's default). No limit may exceed the caller's
	// hard limit: Start fails with an error wrapping fs.ErrPermission.
	// A default that would exceed it is lowered to it.
	Rlimits []Rlimit

	// Unconfined disables the default seccomp profile. False (the
	// default): the profile is loaded just before the program runs.
	Unconfined bool

	// TTY gives the container a pseudo-terminal from its own devpts as
	// stdin, stdout and stderr (docker run -t). Stdin feeds the terminal,
	// Stdout receives everything it prints; Stderr is unused. Change its
	// size with [Container.Resize].
	TTY bool

	// Stdin, Stdout and Stderr are the container's standard streams, as
	// in exec.Cmd: nil means /dev/null; an *os.File is passed directly;
	// anything else is copied through a pipe, and Wait returns after the
	// output copies end. With Detach they must be nil: the output goes to
	// the log in the state directory.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// ExtraFiles are open files the container's process gets as fds 3,
	// 4, ... No other descriptor of the calling process reaches the
	// container. Not allowed with Detach.
	ExtraFiles []*os.File

	// Detach hands the container to a monitor process, so that the
	// calling program may exit while it runs. The monitor (one per state
	// directory, started on demand, exiting once it has no containers
	// left) is the container's parent: it reaps it, records its exit
	// status and writes its output to a size-capped, rotated log. Use
	// [Load] from another process to find it again.
	Detach bool

	// StateDir is where the container's state and log are kept; "" means
	// [DefaultStateDir].
	StateDir string

	// Resources limits the container's memory, CPU, block I/O and number
	// of tasks (docker run --memory, --cpus, --pids-limit ...), in cgroup
	// v2 terms, translated on cgroup v1 (see [cgroups.Resources]). The
	// container's program starts inside the limits: on cgroup v2 the init
	// is born in the container's cgroup (clone3 CLONE_INTO_CGROUP), on v1
	// it is moved there during the start handshake, before it execs. When
	// Devices is empty and the host has a devices controller (cgroup v1),
	// [DefaultDeviceRules] apply. Nil sets no limits; the container still
	// gets a cgroup of its own when the host's cgroups allow it, for
	// [Container.Stats], [Container.Pause] and a Delete that kills every
	// process of the container (if creating it fails, the container runs
	// in the caller's cgroup, and those methods wrap
	// errors.ErrUnsupported). Start fails if Resources is set and the
	// cgroup cannot be made.
	Resources *cgroups.Resources

	// Cgroup is the container's cgroup path, the same in every hierarchy;
	// "" means ID under [cgroups.DefaultParent] ("/berth/ID"). A relative
	// path is placed under cgroups.DefaultParent. The group must not
	// exist: Start creates it and the container's end removes it.
	Cgroup string

	// Network connects the container; see [Network] for the modes. Nil
	// is like Mode "none" without /etc files: a network namespace of its
	// own with only loopback (or the caller's, with Net in Share).
	Network *Network

	// LogMaxSize caps one log file of a detached container, in bytes; 0
	// means 10 MiB. LogMaxFiles is how many files are kept in rotation,
	// the current one included; 0 means 2.
	LogMaxSize  int64
	LogMaxFiles int

	mu     sync.Mutex
	run    *running
	loaded *State   // for a container found by Load or started detached
	rt     *Runtime // set by Runtime.NewContainer and Runtime.Load
	// cgroupCache is the cgroup of a container found by Load, opened by
	// the first Stats or Pause.
	cgroupCache *cgroups.Group
	// loop, set by a monitor, waits for the output and the exit of a
	// container without a terminal or stdin; nil means goroutines do.
	loop *eventLoop
	// afterExit, set by a monitor, is called once the exit is recorded.
	afterExit func()
}

// DefaultPath is the PATH a container gets when its Env has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// UserNS describes a new user namespace by its ID maps. Each map needs at
// least one range. A typical rootless-style map is
// {UIDs: []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}, GIDs: ...same}.
type UserNS struct {
	UIDs []namespaces.IDMap
	GIDs []namespaces.IDMap
}

// Capabilities adjusts Docker's default capability set, with the names
// and habits of docker run --cap-add and --cap-drop: names with or without
// "CAP_", any case; "ALL" in Drop empties the default set and "ALL" in Add
// grants every capability the kernel knows. A name in both is added. The
// zero value is the default set, [DefaultCapabilities].
type Capabilities struct {
	Add  []string
	Drop []string
}

// Rlimit is one resource limit: Type is an RLIMIT_* number (such as
// unix.RLIMIT_NOFILE), Soft and Hard its values.
type Rlimit struct {
	Type       int
	Soft, Hard uint64
}

// validID is the shape of a container ID: ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$
// (see idShape; a compiled regexp would cost every re-executed init
// about 1700 allocations at start-up).
var validID idShape

// Exit codes of a container killed by a signal are 128 plus the signal's
// number, as in a shell and in Docker.
const signalExitBase = 128

// running is what Start leaves for Wait and the other methods.
type running struct {
	pid     int
	started time.Time
	done    chan struct{} // closed when the exit is known and output copied
	code    int
	waitErr error
	proc    *procHandle
	tty     *os.File // the pty master, nil without TTY
	store   *store
	// host is what the container holds on the host (cgroup, network),
	// released by the reaper once the init has exited; nil for Exec.
	host *hostSide
	// cgroup is the container's cgroup (nil without one), for Pause,
	// Stats and Delete; the reaper deletes it when the init exits.
	cgroup *cgroups.Group
	st     *State // the state Start recorded; nil for Exec
	// release ends the parked thread of a direct start; nil otherwise.
	release chan struct{}
	after   func() // called once done is closed; may be nil
}
