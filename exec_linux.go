package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/namespaces"
)

// joinOrder is the order the exec helper joins namespaces in; the mount
// namespace is last, as it changes the helper's root.
var joinOrder = []namespaces.Kind{namespaces.Cgroup, namespaces.IPC, namespaces.UTS, namespaces.Net, namespaces.Mount}

// Exec starts p in the running container c and returns once p's program
// runs (or failed to start, with an [*InitError]). Wait for it with
// [Process.Wait]. ctx bounds the start only. See [Process] for what p
// shares with the container. It works on a container found by [Load] too.
func (c *Container) Exec(ctx context.Context, p *Process) (retErr error) {
	if len(p.Args) == 0 {
		return &InitError{Stage: initproto.StageConfig, Err: fmt.Errorf("Process.Args is empty: %w", fs.ErrInvalid)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		return fmt.Errorf("exec in container %q: process already started", c.ID)
	}
	s, err := openStore(c.StateDir)
	if err != nil {
		return err
	}
	st, err := s.load(c.ID)
	if err != nil {
		return fmt.Errorf("exec in container %q: %w", c.ID, err)
	}
	if st.Status != StatusRunning || !alive(st.PID, st.PIDStart) {
		return fmt.Errorf("exec in container %q: not running: %w", c.ID, os.ErrProcessDone)
	}
	nsFiles, pidns, err := openNamespaces(st)
	if err != nil {
		return &InitError{Stage: initproto.StageJoin, Err: err}
	}
	defer closeHandles(nsFiles, pidns)
	r, err := execStart(ctx, st, p, nsFiles, pidns)
	if err != nil {
		return err
	}
	p.run = r
	return nil
}

func openNamespaces(st *State) (files []*namespaces.Handle, pidns *namespaces.Handle, retErr error) {
	defer func() {
		if retErr != nil {
			closeHandles(files, pidns)
			files, pidns = nil, nil
		}
	}()
	for _, k := range joinOrder {
		if st.Share&k != 0 {
			continue
		}
		h, err := namespaces.OpenPID(st.PID, k)
		if err != nil {
			return files, pidns, err
		}
		files = append(files, h)
	}
	if st.Share&namespaces.PID == 0 {
		h, err := namespaces.OpenPID(st.PID, namespaces.PID)
		if err != nil {
			return files, pidns, err
		}
		pidns = h
	}
	// The PID may have been reused between the state check and the opens.
	if !alive(st.PID, st.PIDStart) {
		return files, pidns, fmt.Errorf("container process %d: %w", st.PID, os.ErrProcessDone)
	}
	return files, pidns, nil
}

func closeHandles(hs []*namespaces.Handle, extra *namespaces.Handle) {
	for _, h := range hs {
		h.Close()
	}
	if extra != nil {
		extra.Close()
	}
}

// execConfig is the helper's config: the container's process settings
// with p's overrides.
func execConfig(st *State, p *Process, joined []*namespaces.Handle) initproto.Exec {
	proc := st.process(0)
	proc.Args, proc.TTY = p.Args, p.TTY
	proc.Env = mergeEnv(st.Env, p.Env)
	if p.Dir != "" {
		proc.Dir = p.Dir
	}
	if p.User != "" {
		proc.User, proc.AdditionalGroups = p.User, nil
	}
	cfg := initproto.Exec{Process: proc}
	for _, h := range joined {
		cfg.Join = append(cfg.Join, uintptr(h.Kind()))
	}
	if st.UserNS != nil {
		for _, m := range st.UserNS.UIDs {
			cfg.UIDMap = append(cfg.UIDMap, initproto.IDRange(m))
		}
		for _, m := range st.UserNS.GIDs {
			cfg.GIDMap = append(cfg.GIDMap, initproto.IDRange(m))
		}
	}
	return cfg
}

func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, b := range out {
			if strings.HasPrefix(b, key+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func execStart(ctx context.Context, st *State, p *Process, joined []*namespaces.Handle, pidns *namespaces.Handle) (_ *running, retErr error) {
	s := &starting{c: &Container{ID: st.ID, Stdin: p.Stdin, Stdout: p.Stdout, Stderr: p.Stderr}, st: st}
	defer func() {
		if retErr != nil {
			s.store = nil // the container's state is not the exec's to remove
			retErr = errors.Join(retErr, s.undo())
		}
	}()
	io, err := newStdio(p.Stdin, p.Stdout, p.Stderr, p.TTY)
	if err != nil {
		return nil, &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.stdio = io
	parentSock, childSock, err := initproto.Socketpair()
	if err != nil {
		return nil, &InitError{Stage: initproto.StageStart, Err: err}
	}
	defer childSock.Close()
	s.conn, err = initproto.NewConn(parentSock)
	parentSock.Close()
	if err != nil {
		return nil, &InitError{Stage: initproto.StageStart, Err: err}
	}
	extra := []*os.File{childSock}
	for _, h := range joined {
		extra = append(extra, h.File())
	}
	cg := &hostSide{}
	if st.Cgroup != "" {
		if cg.group, err = cgroups.Load(st.Cgroup); err != nil {
			return nil, &InitError{Stage: initproto.StageCgroup, Err: err}
		}
		defer cg.group.Close()
		cg.openCgroupDir()
	}
	cmd, err := inPIDNamespace(pidns, func() (*execCmd, error) {
		// No parent-death signal: os/exec kills a child whose getppid()
		// differs from its parent's PID right after fork, and in another
		// PID namespace getppid() is 0. Like docker exec, the process
		// outlives its caller; it dies with the container.
		return startEntrypoint(ctx, execEntrypoint, 0, io, extra, entryOptions{cgroup: cg.cgroupDir})
	})
	if err != nil {
		if cg.cgroupDir != nil {
			cg.cgroupDir.Close()
		}
		return nil, &InitError{Stage: initproto.StageStart, Err: err}
	}
	s.proc = cmd.proc
	// The process joins the container's cgroup before it gets its config.
	if err := cg.joinCgroup(s.proc.pid); err != nil {
		return nil, err
	}
	childSock.Close() // so that the helper's exec shows as end of stream
	io.closeChildEnds()
	return s.execHandshake(ctx, execConfig(st, p, joined), p)
}

func (s *starting) execHandshake(ctx context.Context, cfg initproto.Exec, p *Process) (*running, error) {
	stop := context.AfterFunc(ctx, func() { _ = s.conn.UnixConn().SetDeadline(aLongTimeAgo) })
	defer stop()
	if err := s.conn.Send(cfg); err != nil {
		return nil, s.handshakeErr(ctx, err)
	}
	tty, err := readUntilExec(s.conn)
	s.tty = tty
	if err != nil {
		return nil, s.handshakeErr(ctx, err)
	}
	s.conn.Close()
	r := &running{pid: s.proc.pid, done: make(chan struct{}), proc: s.proc, tty: s.tty}
	copies := s.stdio.startCopies(s.tty, p.Stdin, p.Stdout, p.Stderr)
	go r.reap(nil, copies)
	return r, nil
}

// inPIDNamespace runs start on a locked OS thread whose children go into
// pidns (setns(2) with CLONE_NEWPID only changes where children go), then
// switches the thread back. If switching back fails the thread is not
// unlocked, so the Go runtime discards it.
func inPIDNamespace(pidns *namespaces.Handle, start func() (*execCmd, error)) (*execCmd, error) {
	if pidns == nil {
		return start()
	}
	type result struct {
		cmd *execCmd
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/pid")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer own.Close()
		if err := unix.Setns(int(pidns.File().Fd()), unix.CLONE_NEWPID); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, &fs.PathError{Op: "setns", Path: "pid", Err: err}}
			return
		}
		cmd, err := start()
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWPID) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{cmd, err}
	}()
	r := <-ch
	return r.cmd, r.err
}

// execInit is the exec helper's entrypoint: it joins the container's
// namespaces and becomes the requested process.
func execInit(ctx context.Context) error {
	conn, err := initSocket()
	if err != nil {
		return err
	}
	var cfg initproto.Exec
	if _, err := conn.Recv(&cfg); err != nil {
		return fmt.Errorf("berth-exec: reading config: %w", err)
	}
	return report(conn, joinAndFinish(conn, &cfg))
}

func joinAndFinish(conn *initproto.Conn, cfg *initproto.Exec) error {
	// A thread sharing its fs_struct with others cannot enter a mount
	// namespace: give this one its own first.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return atStage(initproto.StageJoin, &fs.PathError{Op: "unshare", Path: "CLONE_FS", Err: err})
	}
	for i, k := range cfg.Join {
		fd := 4 + cfg.Process.ExtraFiles + i
		if err := unix.Setns(fd, int(k)); err != nil {
			return atStage(initproto.StageJoin, &fs.PathError{Op: "setns", Path: namespaces.Kind(k).String(), Err: err})
		}
	}
	var hostIDs *initproto.Exec
	if len(cfg.UIDMap) > 0 {
		hostIDs = cfg
	}
	return finish(conn, &cfg.Process, hostIDs)
}

// Wait waits for the process to exit and returns its exit code (128+N when
// signal N killed it). Cancelling ctx stops the waiting only.
func (p *Process) Wait(ctx context.Context) (int, error) {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return -1, fmt.Errorf("waiting for process: %w", errNotStarted)
	}
	select {
	case <-r.done:
		return r.code, r.waitErr
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return fmt.Errorf("signalling process: %w", errNotStarted)
	}
	return r.proc.signal(sig)
}

// Resize sets the size of the process's terminal (TTY only).
func (p *Process) Resize(width, height uint16) error {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil || r.tty == nil {
		return fmt.Errorf("resizing terminal: no terminal: %w", fs.ErrInvalid)
	}
	return resizePTY(r.tty, width, height)
}

// PID returns the host PID of the process, or 0 before it started.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return 0
	}
	return p.run.pid
}
