package berth

import (
	"context"
	"fmt"
	"os"

	"github.com/berthlabs/berth/namespaces"
)

// Names of the entrypoints Berth registers with [namespaces.Register].
const (
	initEntrypoint    = "berth-init"         // the container's init
	execEntrypoint    = "berth-init-exec"    // a process joining a running container
	monitorEntrypoint = "berth-init-monitor" // the monitor of detached containers
)

func init() {
	namespaces.Register(initEntrypoint, containerInit)
	namespaces.Register(execEntrypoint, execInit)
	namespaces.Register(monitorEntrypoint, monitorMain)
}

// Dispatch runs Berth's re-executed roles (the container init, the exec
// helper, the monitor of detached containers) when this process is one of
// them, and returns handled=true with the role's error. In an ordinary
// start it returns false and nil at once. Call it first in main and in
// TestMain, before anything else starts goroutines or opens files:
//
//	func main() {
//		if handled, err := berth.Dispatch(context.Background()); handled {
//			if err != nil {
//				fmt.Fprintln(os.Stderr, err)
//				os.Exit(1)
//			}
//			os.Exit(0)
//		}
//		// ... the program
//	}
//
// A container init that succeeds never returns: it becomes the container's
// program. Without a Dispatch call, [Container.Start] fails with
// [namespaces.ErrNotDispatched].
func Dispatch(ctx context.Context) (handled bool, err error) {
	return namespaces.Dispatch(ctx)
}

// Init is [Dispatch] for programs that want no handling of their own: in a
// re-executed role it runs the role and exits the process (status 0, or 1
// after printing the error to stderr); otherwise it returns.
func Init() {
	handled, err := Dispatch(context.Background())
	if !handled {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// InitError is the error Start (and Exec) return when setting up the
// container fails. Stage names the step: "start", "idmap", "handshake",
// "config", "rootfs", "hostname", "network", "tty", "user", "rlimits",
// "cwd", "capabilities", "no_new_privs", "seccomp", "fds", "exec" or "join".
// Err keeps the cause: errors.Is finds its errno (unix.ENOENT) and its
// category (fs.ErrNotExist for a missing executable, an unknown user or a
// missing working directory; fs.ErrPermission; errors.ErrUnsupported).
// Nothing the failed start created is left behind.
type InitError struct {
	Stage string
	Err   error
}

func (e *InitError) Error() string {
	return fmt.Sprintf("berth: container setup failed at stage %s: %v", e.Stage, e.Err)
}

// Unwrap returns Err.
func (e *InitError) Unwrap() error { return e.Err }
