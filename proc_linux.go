package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// procHandle is a pidfd on a container process, polled through the Go
// runtime's poller: waiting for thousands of processes costs no threads.
type procHandle struct {
	pid   int
	pidfd *os.File
	child bool // this process is the parent and must reap it

	mu     sync.Mutex // guards closed against signal racing close
	closed bool
}

// newProcHandle takes ownership of pidfd.
func newProcHandle(pid, pidfd int, child bool) (*procHandle, error) {
	if err := unix.SetNonblock(pidfd, true); err != nil {
		unix.Close(pidfd)
		return nil, &fs.PathError{Op: "fcntl O_NONBLOCK", Path: "pidfd", Err: err}
	}
	return &procHandle{pid: pid, pidfd: os.NewFile(uintptr(pidfd), fmt.Sprintf("pidfd:%d", pid)), child: child}, nil
}

// openProc opens a pidfd on a process that is not our child, checking its
// start time so that a reused PID is not mistaken for it.
func openProc(pid int, start uint64) (*procHandle, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "pidfd_open", Path: fmt.Sprint(pid), Err: err}
	}
	if got, err := procStart(pid); err != nil || got != start {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "pidfd_open", Path: fmt.Sprint(pid), Err: unix.ESRCH}
	}
	return newProcHandle(pid, fd, false)
}

// signal sends sig through the pidfd. After the process exited it returns
// an error wrapping os.ErrProcessDone.
func (h *procHandle) signal(sig syscall.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("signalling %d: %w", h.pid, os.ErrProcessDone)
	}
	err := unix.PidfdSendSignal(int(h.pidfd.Fd()), sig, nil, 0)
	if errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signalling %d: %w", h.pid, os.ErrProcessDone)
	}
	if err != nil {
		return &fs.PathError{Op: "pidfd_send_signal", Path: fmt.Sprint(h.pid), Err: err}
	}
	return nil
}

// wait blocks until the process exits, or ctx ends. For a child it reaps
// it and returns its exit code (128+signal when killed); for another
// process the code is -1.
func (h *procHandle) wait(ctx context.Context) (int, error) {
	rc, err := h.pidfd.SyscallConn()
	if err != nil {
		return -1, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = h.pidfd.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = h.pidfd.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	code := -1
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		if !h.child {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, perr := unix.Poll(pfd, 0)
			return perr != nil || n > 0
		}
		var info unix.Siginfo
		werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG, nil)
		if werr == unix.EAGAIN || (werr == nil && info.Signo == 0) {
			return false // still running: wait for the pidfd to be readable
		}
		if werr == nil {
			code = exitCode(&info)
		}
		return true
	})
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, fmt.Errorf("waiting for %d: %w", h.pid, err)
	}
	if werr != nil {
		return -1, &fs.PathError{Op: "waitid", Path: fmt.Sprint(h.pid), Err: werr}
	}
	return code, nil
}

// control calls f with the pidfd's descriptor, which stays open while f
// runs (and until close).
func (h *procHandle) control(f func(pidfd int) error) error {
	rc, err := h.pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (h *procHandle) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	return h.pidfd.Close()
}
