package berth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/internal/logfile"
	"github.com/berthlabs/berth/namespaces"
)

// The monitor of detached containers: one process per state directory,
// started on demand by the first detached Start, in its own session, that
// starts containers on request (so it is their parent), reaps them,
// records their exit and logs their output. It exits once it has had no
// container and no request for monitorIdle. One Go process for all
// containers, waiting for their output and exits on one epoll loop
// (eventLoop), keeps the cost of an idle container to its descriptors and
// a few small structs (see benchmarks/runtime/RESULTS.md).

const (
	monitorSocket = "monitor.sock"
	monitorLock   = "monitor.lock"
	monitorLog    = "monitor.log"
)

// monitorIdle is how long the monitor lingers without containers.
var monitorIdle = time.Second

// monitorRequest asks the monitor to start a container.
type monitorRequest struct {
	Spec containerSpec `json:"spec"`
}

// containerSpec is a detached Container's settings, with the caller's
// resolved limits.
type containerSpec struct {
	State       State `json:"state"`
	LogMaxSize  int64 `json:"logMaxSize,omitempty"`
	LogMaxFiles int   `json:"logMaxFiles,omitempty"`
}

// monitorResponse answers a request: the container's state, or the error.
type monitorResponse struct {
	State *State             `json:"state,omitempty"`
	Error *initproto.Message `json:"error,omitempty"`
}

// startDetached asks the state directory's monitor (starting it if need
// be) to start c.
func (c *Container) startDetached(ctx context.Context, st *State) error {
	s, err := openStore(c.StateDir)
	if err != nil {
		return err
	}
	conn, err := dialMonitor(ctx, s.dir)
	if err != nil {
		return &InitError{Stage: initproto.StageStart, Err: err}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	req := monitorRequest{Spec: containerSpec{State: *st, LogMaxSize: c.LogMaxSize, LogMaxFiles: c.LogMaxFiles}}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return &InitError{Stage: initproto.StageHandshake, Err: fmt.Errorf("sending to monitor: %w", err)}
	}
	var resp monitorResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return &InitError{Stage: initproto.StageHandshake, Err: fmt.Errorf("reading monitor's answer: %w", err)}
	}
	if resp.Error != nil {
		if resp.Error.Stage == "" {
			return resp.Error.Err()
		}
		return &InitError{Stage: resp.Error.Stage, Err: resp.Error.Err()}
	}
	if resp.State == nil {
		return &InitError{Stage: initproto.StageHandshake, Err: errors.New("empty answer from monitor")}
	}
	c.StateDir = s.dir
	c.loaded = resp.State
	return nil
}

// dialMonitor connects to the monitor of dir, starting one if none
// listens. The lock serialises this with a monitor's decision to exit.
func dialMonitor(ctx context.Context, dir string) (net.Conn, error) {
	unlock, err := lockFile(filepath.Join(dir, monitorLock))
	if err != nil {
		return nil, err
	}
	defer unlock()
	sock := filepath.Join(dir, monitorSocket)
	if conn, err := net.Dial("unix", sock); err == nil {
		return conn, nil
	}
	if err := spawnMonitor(ctx, dir); err != nil {
		return nil, err
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("connecting to monitor: %w", err)
	}
	return conn, nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}

// spawnMonitor starts the monitor and waits until it listens. The monitor
// outlives the caller: no parent-death signal, its own session, "/" as
// working directory. This process reaps it if it exits first.
func spawnMonitor(ctx context.Context, dir string) (retErr error) {
	cmd, err := namespaces.Command(context.Background(), monitorEntrypoint, 0, dir)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, monitorLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening monitor log: %w", err)
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Dir = "/"
	cmd.SysProcAttr.Pdeathsig = 0
	cmd.SysProcAttr.Setsid = true
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("starting monitor: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = readyR.SetReadDeadline(dl)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(readyR, b); err != nil {
		return fmt.Errorf("monitor did not start (see %s): %w", filepath.Join(dir, monitorLog), err)
	}
	return nil
}

// monitor is the state of the monitor process.
type monitor struct {
	store *store
	ln    *net.UnixListener
	mu    sync.Mutex
	busy  int // containers running plus requests in progress
	last  time.Time
	loop  *eventLoop // nil if it could not be made
}

// monitorMain is the monitor entrypoint: os.Args[1] is the state directory.
func monitorMain(ctx context.Context) error {
	if len(os.Args) < 2 {
		return errors.New("berth monitor: no state directory")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("berth monitor: prctl PR_SET_CHILD_SUBREAPER: %w", err)
	}
	s, err := openStore(os.Args[1])
	if err != nil {
		return fmt.Errorf("berth monitor: %w", err)
	}
	sock := filepath.Join(s.dir, monitorSocket)
	_ = os.Remove(sock) // a dead monitor's; the spawner holds the lock
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("berth monitor: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	m := &monitor{store: s, ln: ln, last: time.Now()}
	if m.loop, err = newEventLoop(); err != nil {
		fmt.Fprintf(os.Stderr, "berth monitor: %v; waiting with a goroutine per stream instead\n", err)
	}
	ready := os.NewFile(3, "ready")
	_, _ = ready.Write([]byte{1})
	ready.Close()
	go m.idleLoop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("berth monitor: %w", err)
		}
		m.add(1)
		go m.serve(conn)
	}
}

func (m *monitor) add(n int) {
	m.mu.Lock()
	m.busy += n
	m.last = time.Now()
	m.mu.Unlock()
}

// idleLoop closes the listener once the monitor has been idle for
// monitorIdle, under the lock that dialMonitor holds while connecting, so
// that no client is left with a connection nobody will accept.
// After a burst of starts and exits it also hands the memory their
// garbage took back to the system: the monitor lives on with its
// containers, and would otherwise keep the peak.
func (m *monitor) idleLoop() {
	var freed time.Time
	for {
		time.Sleep(monitorIdle / 4)
		m.mu.Lock()
		last := m.last
		idle := m.busy == 0 && time.Since(last) >= monitorIdle
		m.mu.Unlock()
		if last.After(freed) && time.Since(last) >= monitorIdle/4 {
			debug.FreeOSMemory()
			freed = time.Now()
		}
		if !idle {
			continue
		}
		unlock, err := lockFile(filepath.Join(m.store.dir, monitorLock))
		if err != nil {
			if _, serr := os.Stat(m.store.dir); errors.Is(serr, fs.ErrNotExist) {
				m.ln.Close() // the state directory is gone: nobody can reach us
				return
			}
			continue
		}
		m.mu.Lock()
		idle = m.busy == 0 && time.Since(m.last) >= monitorIdle && !m.pendingConn()
		if idle {
			_ = os.Remove(filepath.Join(m.store.dir, monitorSocket))
			m.ln.Close()
		}
		m.mu.Unlock()
		unlock()
		if idle {
			return
		}
	}
}

// pendingConn reports whether a client connected but was not accepted yet.
func (m *monitor) pendingConn() bool {
	rc, err := m.ln.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	_ = rc.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(pfd, 0)
		pending = n > 0
	})
	return pending
}

func (m *monitor) serve(conn net.Conn) {
	defer conn.Close()
	var req monitorRequest
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		m.add(-1)
		return
	}
	st, err := m.startContainer(&req.Spec)
	resp := monitorResponse{State: st}
	if err != nil {
		msg := initproto.ErrorMessage("", err)
		var ie *InitError
		if errors.As(err, &ie) {
			msg = initproto.ErrorMessage(ie.Stage, ie.Err)
		}
		resp = monitorResponse{Error: &msg}
		m.add(-1)
	}
	_ = json.NewEncoder(conn).Encode(resp)
}

// startContainer starts one container, logging to its state directory,
// and leaves a goroutine that waits for it.
func (m *monitor) startContainer(spec *containerSpec) (_ *State, retErr error) {
	st := spec.State
	st.Detached = true
	st.LogMaxFiles = spec.LogMaxFiles
	if st.LogMaxFiles <= 0 {
		st.LogMaxFiles = logfile.DefaultMaxFiles
	}
	// The log lives in the container's directory, which start creates:
	// write to a pipe-backed logger opened once the directory exists.
	lw := &lazyLog{path: m.store.logPath(st.ID), maxSize: spec.LogMaxSize, maxFiles: st.LogMaxFiles}
	st.LogPath = lw.path
	c := &Container{ID: st.ID, StateDir: m.store.dir, Stdout: lw.stream("stdout"), Stderr: lw.stream("stderr"),
		loop: m.loop, afterExit: func() { lw.close(); m.add(-1) }}
	if _, err := c.start(context.Background(), &st, nil); err != nil {
		return nil, err
	}
	return &st, nil
}

// lazyLog opens the log file on the first write, after start created the
// container's directory.
type lazyLog struct {
	path     string
	maxSize  int64
	maxFiles int
	mu       sync.Mutex
	w        *logfile.Writer
	err      error
}

func (l *lazyLog) stream(name string) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		l.mu.Lock()
		if l.w == nil && l.err == nil {
			l.w, l.err = logfile.Open(l.path, l.maxSize, l.maxFiles)
		}
		w, err := l.w, l.err
		l.mu.Unlock()
		if err != nil {
			return len(p), nil // keep draining: a lost log must not block the container
		}
		_, _ = w.Stream(name).Write(p)
		return len(p), nil
	})
}

func (l *lazyLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		l.w.Close()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
