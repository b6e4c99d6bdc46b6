package namespaces

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// ReservedPrefix is the argv[0] prefix that marks a re-executed entrypoint.
// [Dispatch] treats a process whose filepath.Base(os.Args[0]) starts with it
// as one, so no program may be installed under a name starting with it.
const ReservedPrefix = "berth-init"

// In a re-executed entrypoint, the main goroutine is locked to the main
// thread from package initialisation on, so that Dispatch runs the
// entrypoint there. That thread is the one the parent's fork made: the
// only one with the parent-death signal Command asks for (the kernel
// gives new threads none), and the one the entrypoint's execve keeps as
// the process. The runtime locks the main goroutine to it only during
// package initialisation; between that and Dispatch's own lock, the
// scheduler could move it, and a program exec'd from another thread would
// outlive its parent.
func init() {
	if len(os.Args) > 0 {
		if _, ok := entrypointName(filepath.Base(os.Args[0])); ok {
			runtime.LockOSThread()
		}
	}
}

// ErrNotDispatched is returned by [Command] when [Dispatch] has not been
// called in this process. Without Dispatch at the top of main (or
// TestMain), the re-executed child would run the program's main again
// instead of the entrypoint.
var ErrNotDispatched = errors.New("namespaces: Dispatch was never called in this process: " +
	"call namespaces.Dispatch (or berth.Dispatch) first in main and TestMain")

var (
	registryMu  sync.Mutex
	entrypoints = map[string]func(ctx context.Context) error{}
	dispatched  atomic.Bool
)

// Register makes fn the entrypoint called name, for [Command] to start and
// [Dispatch] to run in the re-executed child. Call it from an init function
// so that parent and child, being the same binary, agree on the set.
//
// A name is non-empty and holds no '/', ':', NUL or white space. Register
// panics on an invalid name, a nil fn, or a name registered twice: these are
// programming errors found at start-up. It is safe for concurrent use.
func Register(name string, fn func(ctx context.Context) error) {
	if err := validateName(name); err != nil {
		panic(err)
	}
	if fn == nil {
		panic(fmt.Sprintf("namespaces: Register %q: nil entrypoint", name))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := entrypoints[name]; dup {
		panic(fmt.Sprintf("namespaces: Register %q: registered twice", name))
	}
	entrypoints[name] = fn
}

func validateName(name string) error {
	if name == "" || strings.ContainsAny(name, "/:\x00 \t\n\r\v\f") {
		return fmt.Errorf("namespaces: invalid entrypoint name %q", name)
	}
	return nil
}

func lookup(name string) func(ctx context.Context) error {
	registryMu.Lock()
	defer registryMu.Unlock()
	return entrypoints[name]
}

// arg0 returns the argv[0] that names the entrypoint name: name itself when
// it starts with [ReservedPrefix], otherwise ReservedPrefix + ":" + name.
func arg0(name string) string {
	if strings.HasPrefix(name, ReservedPrefix) {
		return name
	}
	return ReservedPrefix + ":" + name
}

// entrypointName is the inverse of arg0. It reports false when arg0 does
// not carry the reserved prefix.
func entrypointName(a0 string) (string, bool) {
	if !strings.HasPrefix(a0, ReservedPrefix) {
		return "", false
	}
	if rest, ok := strings.CutPrefix(a0, ReservedPrefix+":"); ok {
		return rest, true
	}
	return a0, true
}

// Dispatch runs the registered entrypoint this process was started for, if
// any. Call it first in main and in TestMain:
//
//	if handled, err := namespaces.Dispatch(ctx); handled {
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		os.Exit(0)
//	}
//
// In an ordinary start it returns false and nil at once, and records that
// it ran, which [Command] requires. In a process started by [Command]
// (recognised by the [ReservedPrefix] of filepath.Base(os.Args[0])) it
// locks the calling goroutine to its OS thread, names the thread after the
// entrypoint, runs the entrypoint with ctx and returns true and the
// entrypoint's error; the thread stays locked. The entrypoint finds its
// arguments in os.Args[1:]. An argv[0] with the prefix but no registered
// entrypoint gives true and an error wrapping [fs.ErrNotExist].
//
// Entrypoints never call os.Exit: the caller of Dispatch exits, after its
// deferred calls ran.
func Dispatch(ctx context.Context) (handled bool, err error) {
	dispatched.Store(true)
	if len(os.Args) == 0 {
		return false, nil
	}
	name, ok := entrypointName(filepath.Base(os.Args[0]))
	if !ok {
		return false, nil
	}
	fn := lookup(name)
	if fn == nil {
		return true, fmt.Errorf("namespaces: dispatching entrypoint %q: not registered: %w", name, fs.ErrNotExist)
	}
	runtime.LockOSThread()
	nameThread(arg0(name))
	return true, fn(ctx)
}

// Command returns a command that re-executes a sealed copy of the running
// binary as the entrypoint name, in new namespaces of the kinds in k, with
// args as os.Args[1:]. The caller may set Stdin, Stdout, Stderr, Env,
// ExtraFiles and further SysProcAttr fields (UidMappings, Setsid, Setctty,
// UseCgroupFD, ...) before Start; keep Path and Args[0] as they are.
//
// The child runs a protected view of /proc/self/exe, made once per process
// and reused, through which the host binary cannot be modified
// (CVE-2019-5736: root in the container cannot write to it through the
// child's /proc/PID/exe). Where the caller may mount (CAP_SYS_ADMIN,
// Linux 6.13 or later) it is the binary itself, seen through a private
// overlay that has no upper layer and is mounted nowhere: the overlay's
// superblock is read-only, so no remount or mount clone makes it
// writable, and nothing is copied. Elsewhere (rootless, older kernels) it
// is a copy in a memfd sealed against writes, which costs the binary's
// size in shared memory for the life of the process. When the running
// binary already is such a memfd, or runs from a read-only overlay (as a
// process re-executed this way does), it is reused as it is.
//
// Path is /proc/PID/fd/N, a descriptor of this process (PID) that the
// child opens when it execs; this needs the child to be allowed to look
// into this process, so do not set SysProcAttr.Credential to another user
// without a user namespace. For a user namespace, or when this process is
// not dumpable, Path is /proc/self/fd/N instead, with N at least 512, out
// of the way of the descriptors os/exec moves into place before the exec:
// pass fewer than about 250 ExtraFiles.
//
// For a user namespace (k holds [User]), also set UidMappings and
// GidMappings (or call [WriteIDMaps] while the child waits) and
// Credential{Uid: 0, Gid: 0}: otherwise the child runs as an unmapped user
// and loses its capabilities at execve.
//
// SysProcAttr.Cloneflags is k and SysProcAttr.Pdeathsig is SIGKILL: the
// child is killed when the OS thread that started it exits, so call Start
// from a goroutine that is not locked to a thread about to end. SIGKILL,
// not SIGTERM, because a PID namespace's init ignores signals it has no
// handler for.
//
// ctx is as for [exec.CommandContext]: the process is killed if ctx is
// done before it exits. Pass context.WithoutCancel(ctx) for a process that
// outlives ctx.
//
// Command returns [ErrNotDispatched] if [Dispatch] never ran in this
// process, an error wrapping [fs.ErrNotExist] if name is not registered,
// and one wrapping [errors.ErrUnsupported] if k holds [Time] or unknown
// bits, or off Linux. It is safe for concurrent use.
func Command(ctx context.Context, name string, k Kind, args ...string) (*exec.Cmd, error) {
	if !dispatched.Load() {
		return nil, ErrNotDispatched
	}
	if lookup(name) == nil {
		return nil, fmt.Errorf("namespaces: command for entrypoint %q: not registered: %w", name, fs.ErrNotExist)
	}
	if k&Time != 0 || k&^known != 0 {
		return nil, fmt.Errorf("namespaces: command for entrypoint %q: namespaces %v cannot be created by clone: %w",
			name, k&(Time|^known), errors.ErrUnsupported)
	}
	return command(ctx, name, k, args)
}
