package berth

import (
	"io"
	"sync"
)

// Process is a program to run in a running container with
// [Container.Exec] (docker exec). Unset fields take the container's
// settings: its environment (plus Env), user, working directory,
// capabilities, no_new_privs, rlimits and seccomp profile.
//
// Which namespaces Exec joins: all of the container's (mount, UTS, IPC,
// network, cgroup, PID), so the process sees what the container sees and
// is killed with it. A Go program cannot join a user namespace
// (setns(2) refuses multithreaded callers), so in a container with a user
// namespace the process stays in the caller's user namespace: it runs as
// the host IDs that its container user maps to, with no capabilities.
type Process struct {
	// Args is the program and its arguments; required.
	Args []string
	// Env is added to the container's environment (a key here wins).
	Env []string
	// Dir is the working directory; "" means the container's.
	Dir string
	// User is as in [Container.User]; "" means the container's.
	User string
	// TTY gives the process its own pseudo-terminal (docker exec -t);
	// Stdin feeds it and Stdout receives its output.
	TTY bool
	// Stdin, Stdout and Stderr are as in [Container]: nil is /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	mu  sync.Mutex
	run *running
}
