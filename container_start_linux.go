package berth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/namespaces"
)

// startHook, when set by a test, is called at each step of start with the
// step's name, so that a test can kill the starting process there.
var startHook func(step string)

func hook(step string) {
	if startHook != nil {
		startHook(step)
	}
}

// Start starts the container and returns once its program runs (or
// setup failed). ctx bounds the setup only: cancelling it during Start
// kills the half-made container and cleans up; cancelling it later has no
// effect. A setup failure is an [*InitError] naming the stage, and leaves
// nothing behind. Start fails if the container was started before.
//
// An attached container's first process is killed (SIGKILL) when the
// thread that forked it ends: the direct start forks from a thread of its
// own that lives as long as the container; the re-executed init is forked
// from the calling goroutine's thread, so call Start from a goroutine that
// is not locked to an OS thread about to end.
func (c *Container) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run != nil || c.loaded != nil {
		return fmt.Errorf("starting container %q: already started", c.ID)
	}
	d := c.prestartThread()
	if d != nil {
		defer d.cancel() // unless start launched it
	}
	if err := c.validate(); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = newID()
	}
	st, err := c.initialState(callerLimit)
	if err != nil {
		return err
	}
	if err := c.prepareRuntime(ctx, st); err != nil {
		return err
	}
	if c.Detach {
		err = c.startDetached(ctx, st)
	} else {
		c.run, err = c.start(ctx, st, d)
	}
	if err != nil {
		return errors.Join(err, c.rt.removeSnapshot(context.WithoutCancel(ctx), st.Snapshot))
	}
	return nil
}

// prepareRuntime does what a Runtime's container needs before it starts:
// the bridge, and the snapshot of its image.
func (c *Container) prepareRuntime(ctx context.Context, st *State) error {
	if c.rt == nil {
		return nil
	}
	if st.Network != nil && st.Network.Mode == NetworkBridge {
		if err := c.rt.ensureBridge(ctx); err != nil {
			return &InitError{Stage: initproto.StageNetwork, Err: err}
		}
	}
	if c.Image != nil {
		if err := c.rt.prepareSnapshot(ctx, st, c.Image); err != nil {
			return &InitError{Stage: initproto.StageSnapshot, Err: err}
		}
	}
	return nil
}

func callerLimit(resource int) (uint64, uint64, error) {
	var rl unix.Rlimit
	if err := unix.Prlimit(0, resource, nil, &rl); err != nil {
		return 0, 0, err
	}
	return rl.Cur, rl.Max, nil
}

// starting is the state of one start in progress.
type starting struct {
	c     *Container
	st    *State
	store *store
	stdio *stdio
	cmd   *execCmd
	proc  *procHandle
	conn  *initproto.Conn
	tty   *os.File
	host  *hostSide
	// netns is the container's network namespace file, when it is not
	// /proc/PID/ns/net of its init (the direct start).
	netns string
	// direct is the root file system of a direct start.
	direct *rootfsConfig
	// release ends the thread of a direct start, once the container exits.
	release chan struct{}
	// threadOut is closed once the thread of a direct start is out of the
	// container's cgroup (nil without a direct start).
	threadOut <-chan struct{}
	// stMu guards st while a direct start's network goroutine records it
	// and the starting goroutine adds the PID.
	stMu sync.Mutex
}

// start starts the container of st, attached to this process. d is a
// thread started for the direct path, or nil: start launches it if st can
// take that path, and cancels it otherwise.
func (c *Container) start(ctx context.Context, st *State, d *directStart) (_ *running, retErr error) {
	s := &starting{c: c, st: st}
	if d != nil && !canStartDirect(st) {
		d.cancel()
		d = nil
	}
	if d != nil {
		d.launch(s) // its namespaces while the state and cgroup are made
	}
	defer func() {
		if retErr != nil {
			if d != nil {
				d.stop()
			}
			retErr = errors.Join(retErr, s.undo())
		}
	}()
	if err := s.createState(); err != nil {
		return nil, err
	}
	hook("state")
	if err := s.prepareHost(); err != nil {
		return nil, err
	}
	hook("cgroup")
	if d != nil {
		if err := s.spawnDirect(ctx, d); err != nil {
			return nil, err
		}
		hook("ready")
		return s.running()
	}
	if err := s.spawn(ctx); err != nil {
		return nil, err
	}
	hook("spawned")
	stop := context.AfterFunc(ctx, func() { _ = s.conn.UnixConn().SetDeadline(aLongTimeAgo) })
	defer stop()
	if err := s.configure(ctx); err != nil {
		return nil, err
	}
	hook("network")
	if err := s.handshake(ctx); err != nil {
		return nil, err
	}
	hook("ready")
	return s.running()
}

// running records the started container as running and hands it over.
func (s *starting) running() (*running, error) {
	s.st.Status, s.st.Started = StatusRunning, time.Now().UTC()
	if err := s.store.update(s.st); err != nil {
		return nil, err
	}
	hook("running")
	return s.finish(), nil
}

func (s *starting) createState() error {
	store, err := openStore(s.c.StateDir)
	if err != nil {
		return err
	}
	pid, start, err := self()
	if err != nil {
		return err
	}
	s.st.OwnerPID, s.st.OwnerStart = pid, start
	if err := store.create(s.st); err != nil {
		return err
	}
	s.store = store
	return nil
}

// spawn re-executes the init in the new namespaces and records its PID.
func (s *starting) spawn(ctx context.Context) (retErr error) {
	kinds := namespaces.All &^ s.st.Share
	if s.st.Cgroup != "" {
		kinds &^= namespaces.Cgroup // made by the init once in its cgroup
	}
	if s.st.UserNS != nil {
		kinds |= namespaces.User
	}
	io, err := newStdio(s.c.Stdin, s.c.Stdout, s.c.Stderr, s.st.TTY)
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.stdio = io
	parentSock, childSock, err := initproto.Socketpair()
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	defer childSock.Close()
	conn, err := initproto.NewConn(parentSock)
	parentSock.Close()
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.conn = conn
	cmd, err := startEntrypoint(ctx, initEntrypoint, kinds, io, append([]*os.File{childSock}, s.c.ExtraFiles...),
		entryOptions{pdeathsig: syscall.SIGKILL, userns: s.st.UserNS, cgroup: s.host.cgroupDir})
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.cmd, s.proc = cmd, cmd.proc
	io.closeChildEnds()
	s.st.PID = cmd.proc.pid
	if s.st.PIDStart, err = procStart(s.st.PID); err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	if err := s.store.update(s.st); err != nil {
		return err
	}
	return nil
}

// execCmd is a started re-executed process with its pidfd.
type execCmd struct {
	proc *procHandle
}

// entryOptions are the settings of a re-executed entrypoint.
type entryOptions struct {
	// pdeathsig kills the process when the starting thread ends; 0: none.
	pdeathsig syscall.Signal
	// userns, when set, has os/exec write the ID maps
	// before the child execs, so that the init starts as root of its user
	// namespace with full capabilities there. (Maps written after execve
	// would find it already stripped of them.)
	userns *UserNS
	// cgroup, when set, is a cgroup v2 directory the child is born in
	// (clone3 CLONE_INTO_CGROUP).
	cgroup *os.File
}

// startEntrypoint starts a re-executed entrypoint with its stdio and extra
// files, in a new session, with an empty environment and "/" as working
// directory.
func startEntrypoint(_ context.Context, name string, kinds namespaces.Kind, io *stdio, extra []*os.File, opts entryOptions) (*execCmd, error) {
	cmd, err := namespaces.Command(context.Background(), name, kinds)
	if err != nil {
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.child[0], io.child[1], io.child[2]
	cmd.ExtraFiles = extra
	// Nothing of the caller's environment; a short-lived init needs no
	// garbage collection nor the cgroup-aware GOMAXPROCS (which reads
	// /proc/self/cgroup and mountinfo at start-up).
	cmd.Env = []string{"GOGC=off", "GODEBUG=containermaxprocs=0,updatemaxprocs=0"}
	cmd.Dir = "/"
	pidfd := -1
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.PidFD = &pidfd
	cmd.SysProcAttr.Pdeathsig = opts.pdeathsig
	if opts.userns != nil {
		cmd.SysProcAttr.UidMappings = sysIDMaps(opts.userns.UIDs)
		cmd.SysProcAttr.GidMappings = sysIDMaps(opts.userns.GIDs)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
	}
	if opts.cgroup != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(opts.cgroup.Fd())
	}
	if opts.userns != nil {
		// Become root of the new user namespace before execve, or the
		// init runs as the overflow ID without capabilities.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The pidfd is ours; os.Process keeps a duplicate, released now so
	// that reaping is left to procHandle alone.
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	proc, err := newProcHandle(pid, pidfd, true)
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return nil, err
	}
	return &execCmd{proc: proc}, nil
}

// configure does the host side while the init starts, and sends the init
// its config as soon as the container's network (if any) is in place,
// without waiting for the cgroup: the init then sets up the root file
// system while the parent moves it into its cgroup (on cgroup v1 that
// waits for RCU grace periods, milliseconds per hierarchy). The init does
// not go further than its mounts, hostname and loopback before the "go"
// of handshake, sent once the cgroup is joined, so its program starts
// inside the limits.
func (s *starting) configure(ctx context.Context) error {
	cgErr := make(chan error, 1)
	go func() { cgErr <- s.host.joinCgroup(s.st.PID) }()
	err := s.attachNetwork(ctx)
	if err == nil {
		err = s.sendConfig(ctx)
	}
	return errors.Join(<-cgErr, err)
}

// sendConfig sends the init what it needs to set the container up.
func (s *starting) sendConfig(ctx context.Context) error {
	cfg := initConfig{Process: s.st.process(len(s.c.ExtraFiles)), RootFS: rootfsConfigOf(s.st, s.store.etcMounts(s.st)),
		RootFSMounts: s.st.RootFSMounts, Hostname: s.st.Hostname, Loopback: s.st.Share&namespaces.Net == 0,
		CgroupNS: s.st.Cgroup != "" && s.st.Share&namespaces.Cgroup == 0}
	var files []*os.File
	if cfg.RootFS.MaskSource != nil {
		files = append(files, cfg.RootFS.MaskSource) // not in the JSON
	}
	if err := s.conn.Send(cfg, files...); err != nil {
		return s.handshakeErr(ctx, err)
	}
	return nil
}

// handshake lets the configured init go on, and reads its messages until
// it has exec'd the program (end of stream after "exec") or failed. An init
// that failed before the "go" has reported why: that report is the error.
func (s *starting) handshake(ctx context.Context) error {
	sendErr := s.conn.Send(initproto.Message{Type: msgGo})
	tty, err := readUntilExec(s.conn)
	s.tty = tty
	if err == nil {
		err = sendErr
	}
	if err != nil {
		return s.handshakeErr(ctx, err)
	}
	return nil
}

func (s *starting) handshakeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &InitError{Stage: initproto.StageHandshake, Err: fmt.Errorf("%w (%w)", ctx.Err(), err)}
	}
	var ie *InitError
	if errors.As(err, &ie) {
		return err
	}
	return &InitError{Stage: initproto.StageHandshake, Err: err}
}

// readUntilExec reads the child's messages: "pty" (keeps the master),
// "error" (an InitError), "exec" then end of stream (success).
func readUntilExec(conn *initproto.Conn) (tty *os.File, retErr error) {
	defer func() {
		if retErr != nil && tty != nil {
			tty.Close()
			tty = nil
		}
	}()
	sawExec := false
	for {
		var m initproto.Message
		files, err := conn.Recv(&m)
		if errors.Is(err, io.EOF) {
			if sawExec {
				return tty, nil
			}
			return tty, errors.New("init exited during setup")
		}
		if err != nil {
			return tty, err
		}
		switch m.Type {
		case "pty":
			if len(files) != 1 || tty != nil {
				closeFiles(files)
				return tty, errors.New("bad pty message")
			}
			if tty, err = pollable(files[0]); err != nil {
				return nil, err
			}
		case "error":
			closeFiles(files)
			return tty, &InitError{Stage: m.Stage, Err: m.Err()}
		case "exec":
			sawExec = true
		default:
			closeFiles(files)
			return tty, fmt.Errorf("unexpected message %q", m.Type)
		}
	}
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// undo kills and reaps the init, closes what start opened and removes the
// state.
func (s *starting) undo() error {
	var errs []error
	if s.proc != nil {
		if err := s.proc.signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, err)
		}
		if _, err := s.proc.wait(context.Background()); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, s.proc.close())
	}
	if s.host != nil {
		if s.threadOut != nil {
			<-s.threadOut // stopped by now, it leaves the cgroup
		}
		_, err := s.host.release(context.Background(), s.st)
		errs = append(errs, err)
	}
	if s.conn != nil {
		s.conn.Close()
	}
	if s.release != nil {
		close(s.release)
	}
	if s.tty != nil {
		s.tty.Close()
	}
	if s.stdio != nil {
		s.stdio.closeAll()
	}
	if s.store != nil {
		errs = append(errs, s.store.remove(s.st.ID))
	}
	return errors.Join(errs...)
}

// finish hands the started container to a running, whose reaper goroutine
// records the exit.
func (s *starting) finish() *running {
	if s.conn != nil {
		s.conn.Close()
	}
	r := &running{pid: s.st.PID, started: s.st.Started, done: make(chan struct{}), proc: s.proc, tty: s.tty, store: s.store,
		host: s.host, cgroup: s.host.group, st: s.st, release: s.release, after: s.c.afterExit}
	s.release = nil
	if s.c.loop != nil && s.watchOnLoop(s.c.loop, r) {
		return r
	}
	copies := s.stdio.startCopies(s.tty, s.c.Stdin, s.c.Stdout, s.c.Stderr)
	go r.reap(s.st, copies)
	return r
}

// watchOnLoop hands the container's output pipes and its exit to the
// monitor's event loop, so that no goroutine waits for an idle container.
// It returns false, having changed nothing, when it cannot: with a
// terminal or a stdin to feed, or when a descriptor cannot be duplicated.
func (s *starting) watchOnLoop(l *eventLoop, r *running) bool {
	if s.tty != nil || s.stdio.stdinW != nil {
		return false
	}
	outs := []*os.File{s.stdio.stdoutR, s.stdio.stderrR}
	ws := []io.Writer{s.c.Stdout, s.c.Stderr}
	fds, err := rawFDs(outs)
	if err != nil {
		return false
	}
	s.stdio.stdoutR, s.stdio.stderrR = nil, nil
	var copies sync.WaitGroup
	for i, fd := range fds {
		if fd < 0 {
			continue
		}
		outs[i].Close()
		copies.Add(1)
		if err := l.pump(fd, ws[i], copies.Done); err != nil {
			f := os.NewFile(uintptr(fd), outs[i].Name())
			go copyStream(ws[i], f, func() { f.Close(); copies.Done() })
		}
	}
	st := s.st
	exited := func() { go r.reap(st, copies.Wait) }
	if err := r.proc.control(func(pidfd int) error { return l.onExit(pidfd, exited) }); err != nil {
		exited()
	}
	return true
}

// rawFDs duplicates each non-nil file's descriptor (-1 for nil), closing
// the duplicates made if one fails.
func rawFDs(files []*os.File) ([]int, error) {
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = -1
		if f == nil {
			continue
		}
		rc, err := f.SyscallConn()
		if err == nil {
			cerr := rc.Control(func(fd uintptr) { fds[i], err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
			err = errors.Join(err, cerr)
		}
		if err != nil {
			for _, fd := range fds[:i+1] {
				if fd >= 0 {
					unix.Close(fd)
				}
			}
			return nil, err
		}
	}
	return fds, nil
}

// reap waits for the init, records its exit and waits for the output.
func (r *running) reap(st *State, copies func()) {
	code, err := r.proc.wait(context.Background())
	r.code, r.waitErr = code, err
	if r.release != nil {
		close(r.release)
	}
	oom := false
	if r.host != nil {
		var herr error
		oom, herr = r.host.release(context.Background(), st)
		r.waitErr = errors.Join(r.waitErr, herr)
		if oom && code == signalExitBase+int(syscall.SIGKILL) && r.waitErr == nil {
			r.waitErr = fmt.Errorf("container %q: %w", st.ID, ErrOOMKilled)
		}
	}
	copies()
	if r.tty != nil {
		r.tty.Close()
	}
	if r.store != nil {
		final := *st
		final.Status, final.ExitCode, final.Finished = StatusExited, code, time.Now().UTC()
		final.OOMKilled = oom
		if err := r.store.update(&final); err != nil && !errors.Is(err, os.ErrNotExist) && r.waitErr == nil {
			r.waitErr = err
		}
	}
	r.proc.close()
	close(r.done)
	if r.after != nil {
		r.after()
	}
}

// pollable returns a non-blocking duplicate of f, managed by the Go
// poller (so that Close interrupts a pending Read), and closes f.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "fcntl F_DUPFD_CLOEXEC", Path: f.Name(), Err: err}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl O_NONBLOCK", Path: f.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func sysIDMaps(ms []namespaces.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(ms))
	for i, m := range ms {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}
