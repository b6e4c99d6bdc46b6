package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"slices"
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
	limits                                 limitFlags
	network                                string
	publish, addHosts, dns                 multi
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
	fs.StringVar(&o.limits.memory, "memory", "", "memory limit, such as 512m")
	stringAlias(fs, &o.limits.memory, "", "memory limit, such as 512m", "m")
	fs.Float64Var(&o.limits.cpus, "cpus", 0, "number of CPUs, such as 0.5")
	fs.StringVar(&o.limits.cpuset, "cpuset-cpus", "", "CPUs the container may use, such as 0-1")
	fs.Int64Var(&o.limits.pidsLimit, "pids-limit", 0, "maximum number of tasks (-1: unlimited)")
	fs.Uint64Var(&o.limits.blkioWeight, "blkio-weight", 0, "block I/O weight, 10 to 1000")
	fs.StringVar(&o.network, "network", "", "network mode: none, host or bridge (default: no network files, loopback only)")
	multiAlias(fs, &o.publish, "publish a port [IP:]HOST:CTR[/PROTO]", "p", "publish")
	fs.Var(&o.addHosts, "add-host", "add an /etc/hosts entry NAME:IP")
	fs.Var(&o.dns, "dns", "name server for /etc/resolv.conf")
	if err := fs.Parse(args); err != nil {
		return 125, nil
	}
	if fs.NArg() == 0 {
		return 125, errors.New("usage: berth run [OPTIONS] (IMAGE [CMD [ARG...]] | --rootfs DIR CMD [ARG...])")
	}
	ctr, err := c.container(ctx, &o, fs.Args())
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

// container builds the Container: on --rootfs, or on a snapshot of the
// image args[0] with its defaults (docker's: CMD replaced by the
// arguments, ENTRYPOINT kept, -e added to the image's environment).
func (c *cli) container(ctx context.Context, o *runOptions, args []string) (*berth.Container, error) {
	ctr := &berth.Container{StateDir: c.stateDir}
	if o.rootfs == "" || o.network == "bridge" {
		rt, err := c.runtime()
		if err != nil {
			return nil, err
		}
		var img *berth.Image
		if o.rootfs == "" {
			if img, err = rt.Images().Get(ctx, args[0]); err != nil {
				return nil, err
			}
			entry := img.Config().Config.Entrypoint
			if args = args[1:]; len(args) > 0 || len(entry) > 0 {
				args = append(slices.Clone(entry), args...)
			}
		}
		ctr = rt.NewContainer(img)
	}
	if len(args) > 0 {
		ctr.Args = args
	}
	if len(ctr.Args) == 0 {
		return nil, errors.New("no command: give one, or use an image with CMD or ENTRYPOINT")
	}
	ctr.ID, ctr.RootFS, ctr.Env = o.name, o.rootfs, append(ctr.Env, o.env...)
	ctr.Hostname, ctr.ReadOnlyRootFS, ctr.TTY = o.hostname, o.readOnly, o.tty
	ctr.Capabilities = berth.Capabilities{Add: o.capAdd, Drop: o.capDrop}
	if o.workdir != "" {
		ctr.Dir = o.workdir
	}
	if o.user != "" {
		ctr.User = o.user
	}
	if err := o.apply(ctr); err != nil {
		return nil, err
	}
	return ctr, nil
}

// apply sets the mounts, limits and network of the flags on ctr.
func (o *runOptions) apply(ctr *berth.Container) error {
	var err error
	if ctr.Resources, err = o.limits.resources(); err != nil {
		return err
	}
	if ctr.Network, err = o.networkConfig(); err != nil {
		return err
	}
	for _, v := range o.volumes {
		m, err := parseVolume(v)
		if err != nil {
			return err
		}
		ctr.Mounts = append(ctr.Mounts, m)
	}
	return nil
}

// networkConfig turns --network, -p, --add-host and --dns into a Network;
// nil when none is given.
func (o *runOptions) networkConfig() (*berth.Network, error) {
	if o.network == "" && len(o.publish)+len(o.addHosts)+len(o.dns) == 0 {
		return nil, nil
	}
	n := &berth.Network{Mode: berth.NetworkMode(o.network)}
	for _, p := range o.publish {
		port, err := parsePort(p)
		if err != nil {
			return nil, err
		}
		n.Ports = append(n.Ports, port)
	}
	for _, h := range o.addHosts {
		host, err := parseAddHost(h)
		if err != nil {
			return nil, err
		}
		n.Hosts = append(n.Hosts, host)
	}
	for _, d := range o.dns {
		addr, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("--dns %q: %w", d, err)
		}
		n.DNS.Servers = append(n.DNS.Servers, addr)
	}
	return n, nil
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
