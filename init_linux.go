package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/layers"
)

// initConfig is what the parent sends the container's init.
type initConfig struct {
	Process initproto.Process `json:"process"`
	RootFS  rootfsConfig      `json:"rootfs"`
	// RootFSMounts are mounted on RootFS.Path first (an image snapshot).
	RootFSMounts []layers.Mount `json:"rootfsMounts,omitempty"`
	// Hostname is set when not empty (the UTS namespace is new).
	Hostname string `json:"hostname,omitempty"`
	// Loopback brings lo up (the network namespace is new).
	Loopback bool `json:"loopback,omitempty"`
	// CgroupNS makes the cgroup namespace once the parent's "go" says the
	// init is in its cgroup, so that the namespace's root is that cgroup.
	CgroupNS bool `json:"cgroupNS,omitempty"`
}

// stageError is an error at a named stage of setup.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func atStage(stage string, err error) error {
	if err == nil {
		return nil
	}
	return &stageError{stage: stage, err: err}
}

// containerInit is the "berth-init" entrypoint: the container's first
// process, in its new namespaces. It returns only on failure, after
// reporting the stage to the parent.
func containerInit(ctx context.Context) error {
	conn, err := initSocket()
	if err != nil {
		return err
	}
	var cfg initConfig
	files, err := conn.Recv(&cfg)
	if err != nil {
		return fmt.Errorf("berth-init: reading config: %w", err)
	}
	if len(files) > 0 {
		cfg.RootFS.MaskSource = files[0] // the parent's, sent with it
		defer files[0].Close()
	}
	err = runInit(conn, &cfg)
	return report(conn, err)
}

// initSocket makes this process non-dumpable (no ptrace, no
// /proc/PID/fd from the container while it sets up) and wraps fd 3.
func initSocket() (*initproto.Conn, error) {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("berth-init: prctl PR_SET_DUMPABLE: %w", err)
	}
	f := os.NewFile(3, "init-socket")
	if f == nil {
		return nil, errors.New("berth-init: no socket at fd 3")
	}
	conn, err := initproto.NewConn(f)
	if err != nil {
		return nil, fmt.Errorf("berth-init: %w", err)
	}
	// fd 3 stays open (the Conn holds a duplicate): the extra files are
	// moved down onto it before exec.
	return conn, nil
}

// report sends err to the parent, which returns it from Start as an
// InitError. It returns nil once the parent has it, so that the failure is
// not printed a second time into the container's stderr.
func report(conn *initproto.Conn, err error) error {
	stage := initproto.StageConfig
	var se *stageError
	if errors.As(err, &se) {
		stage, err = se.stage, se.err
	}
	if sendErr := conn.Send(initproto.ErrorMessage(stage, err)); sendErr != nil {
		return errors.Join(fmt.Errorf("berth-init: %s: %w", stage, err), sendErr)
	}
	return nil
}

func runInit(conn *initproto.Conn, cfg *initConfig) error {
	if err := atStage(initproto.StageRootFS, setupRootFS(&cfg.RootFS, cfg.RootFSMounts)); err != nil {
		return err
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return atStage(initproto.StageHostname, &fs.PathError{Op: "sethostname", Path: cfg.Hostname, Err: err})
		}
	}
	if cfg.Loopback {
		if err := atStage(initproto.StageNetwork, loopbackUp()); err != nil {
			return err
		}
	}
	if err := atStage(initproto.StageHandshake, awaitGo(conn)); err != nil {
		return err
	}
	if cfg.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return atStage(initproto.StageCgroup, &fs.PathError{Op: "unshare", Path: "cgroup namespace", Err: err})
		}
	}
	return finish(conn, &cfg.Process, nil)
}

// msgGo is the message with which the parent lets a configured init go on
// to start the program, once the host side (the cgroup) is done.
const msgGo = "go"

// awaitGo waits for the parent's "go".
func awaitGo(conn *initproto.Conn) error {
	var m initproto.Message
	if _, err := conn.Recv(&m); err != nil {
		return fmt.Errorf("waiting for the parent: %w", err)
	}
	if m.Type != msgGo {
		return fmt.Errorf("waiting for the parent: unexpected message %q", m.Type)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo, as `ip link set lo up` does.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "socket", Path: "lo", Err: err}
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return &fs.PathError{Op: "ioctl SIOCGIFFLAGS", Path: "lo", Err: err}
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return &fs.PathError{Op: "ioctl SIOCSIFFLAGS", Path: "lo", Err: err}
	}
	return nil
}
