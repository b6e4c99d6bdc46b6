package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/namespaces"
)

// runOptions are docker run's flags that berth supports.
type runOptions struct {
	rootfs, name, workdir, user, hostname  string
	detach, readOnly, tty, interactive, rm bool
	env, volumes, capAdd, capDrop          multi
}

func (c *cli) run(ctx context.Context, args []string) (int, error) {
	var o runOptions
	fs := c.newFlags("run")
	fs.StringVar(&o.rootfs, "rootfs", "", "host directory to use as the container's /")
	fs.StringVar(&o.name, "name", "", "container name")
	stringAlias(fs, &o.workdir, "", "working directory inside the container", "w", "workdir")
	stringAlias(fs, &o.user, "", "user[:group] inside the container", "u", "user")
	fs.StringVar(&o.hostname, "hostname", "", "container hostname")
	boolAlias(fs, &o.detach, "run in the background and print the ID", "d", "detach")
	fs.BoolVar(&o.readOnly, "read-only", false, "mount the root filesystem read-only")
	boolAlias(fs, &o.tty, "allocate a pseudo-terminal", "t", "tty")
	boolAlias(fs, &o.interactive, "keep stdin open", "i", "interactive")
	fs.BoolVar(&o.rm, "rm", false, "remove the container when it exits (implied in the foreground)")
	multiAlias(fs, &o.env, "set an environment variable K=V", "e", "env")
	multiAlias(fs, &o.volumes, "bind mount SRC:DST[:ro]", "v", "volume")
	fs.Var(&o.capAdd, "cap-add", "add a capability")
	fs.Var(&o.capDrop, "cap-drop", "drop a capability")
	if err := fs.Parse(args); err != nil {
		return 125, nil
	}
	if o.rootfs == "" || fs.NArg() == 0 {
		return 125, errors.New("usage: berth run [OPTIONS] --rootfs DIR CMD [ARG...]")
	}
	ctr, err := o.container(c.stateDir, fs.Args())
	if err != nil {
		return 125, err
	}
	if o.detach {
		if o.rm || o.interactive {
			return 125, errors.New("--rm and -i are not supported with -d")
		}
		ctr.Detach = true
		if err := ctr.Start(ctx); err != nil {
			return 0, err
		}
		fmt.Fprintln(c.stdout, ctr.ID)
		return 0, nil
	}
	return c.foreground(ctx, ctr, o)
}

func (o *runOptions) container(stateDir string, args []string) (*berth.Container, error) {
	ctr := &berth.Container{
		ID: o.name, RootFS: o.rootfs, Args: args, Env: o.env, Dir: o.workdir, User: o.user,
		Hostname: o.hostname, ReadOnlyRootFS: o.readOnly, TTY: o.tty, StateDir: stateDir,
		Capabilities: berth.Capabilities{Add: o.capAdd, Drop: o.capDrop},
	}
	for _, v := range o.volumes {
		m, err := parseVolume(v)
		if err != nil {
			return nil, err
		}
		ctr.Mounts = append(ctr.Mounts, m)
	}
	return ctr, nil
}

// parseVolume reads -v SRC:DST[:ro|rw] as a recursive bind mount.
func parseVolume(v string) (namespaces.MountSpec, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return namespaces.MountSpec{}, fmt.Errorf("bad volume %q: want SRC:DST[:ro]", v)
	}
	opts := []string{"rbind"}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro", "rw":
			opts = append(opts, parts[2])
		default:
			return namespaces.MountSpec{}, fmt.Errorf("bad volume mode %q", parts[2])
		}
	}
	return namespaces.MountSpec{Source: parts[0], Target: parts[1], Type: "bind", Options: opts}, nil
}

// foreground runs ctr attached to this terminal, forwarding signals, and
// returns its exit code.
func (c *cli) foreground(ctx context.Context, ctr *berth.Container, o runOptions) (int, error) {
	ctr.Stdout, ctr.Stderr = c.stdout, c.stderr
	if o.interactive {
		ctr.Stdin = c.stdin
	}
	var restore func()
	if o.tty {
		if f, ok := c.stdin.(*os.File); ok && o.interactive {
			if r, err := makeRaw(f); err == nil {
				restore = r
			}
		}
	}
	if restore != nil {
		defer restore()
	}
	if err := ctr.Start(ctx); err != nil {
		return 0, err
	}
	defer ctr.Delete(context.WithoutCancel(ctx))
	stopSignals := forwardSignals(ctr, o.tty)
	defer stopSignals()
	return ctr.Wait(ctx)
}

// forwardSignals relays SIGINT, SIGTERM, SIGHUP, SIGQUIT (and SIGWINCH as
// a resize, with a TTY) to the container, as docker run's --sig-proxy.
func forwardSignals(ctr *berth.Container, tty bool) func() {
	ch := make(chan os.Signal, 8)
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}
	if tty {
		sigs = append(sigs, syscall.SIGWINCH)
		resize(ctr)
	}
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if s == syscall.SIGWINCH {
					resize(ctr)
					continue
				}
				_ = ctr.Signal(s)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}
