package berth

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// eventLoop waits, on one epoll instance and one goroutine, for the output
// pipes and the exits of the containers a monitor started. An idle
// container then costs the monitor its descriptors and a few small
// structs, instead of three parked goroutines (their stacks) and two copy
// buffers. Its methods are safe for concurrent use. The callbacks run on
// the loop's goroutine, one at a time: they must not block for long (a
// log write is fine; the kernel buffers the pipes meanwhile). The zero
// value is not usable: call newEventLoop; close ends it.
type eventLoop struct {
	epfd  int
	wake  int  // an eventfd that close writes to
	ended bool // set on the loop's goroutine by the wake callback

	mu      sync.Mutex
	watches map[int32]func() // by descriptor

	buf []byte // read buffer, used only on the loop's goroutine
}

// newEventLoop makes the epoll instance and starts the loop's goroutine.
func newEventLoop() (*eventLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	l := &eventLoop{epfd: epfd, wake: wake, watches: make(map[int32]func()), buf: make([]byte, 32<<10)}
	if err := l.add(wake, func() { l.ended = true }); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, err
	}
	go l.run()
	return l, nil
}

// close ends the loop's goroutine, which then closes the loop's own
// descriptors (not those it watches). A monitor's loop is never closed.
func (l *eventLoop) close() {
	count := [8]byte{1, 1, 1, 1, 1, 1, 1, 1} // any non-zero count wakes it
	_, _ = unix.Write(l.wake, count[:])
}

func (l *eventLoop) run() {
	defer func() {
		unix.Close(l.wake)
		unix.Close(l.epfd)
	}()
	events := make([]unix.EpollEvent, 64)
	for !l.ended {
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err != nil {
			continue // EINTR; the descriptor is ours, so nothing else fails
		}
		for _, ev := range events[:n] {
			l.mu.Lock()
			ready := l.watches[ev.Fd]
			l.mu.Unlock()
			// An event may be stale (its descriptor removed, even reused,
			// by an earlier callback of this batch): callbacks check.
			if ready != nil {
				ready()
			}
		}
	}
}

// add calls ready on the loop's goroutine whenever fd is readable or hung
// up, until remove.
func (l *eventLoop) add(fd int, ready func()) error {
	l.mu.Lock()
	l.watches[int32(fd)] = ready
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.watches, int32(fd))
		l.mu.Unlock()
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// remove stops watching fd. Only the loop's callbacks call it, before they
// close fd.
func (l *eventLoop) remove(fd int) {
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.mu.Lock()
	delete(l.watches, int32(fd))
	l.mu.Unlock()
}

// pump copies what the pipe read end fd delivers to w until the pipe's
// last writer closes it; then it closes fd and calls eof. It takes fd
// over when it returns nil; on an error fd is left to the caller.
func (l *eventLoop) pump(fd int, w io.Writer, eof func()) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return os.NewSyscallError("fcntl O_NONBLOCK", err)
	}
	return l.add(fd, func() {
		n, err := unix.Read(fd, l.buf)
		if err == nil && n > 0 {
			_, _ = w.Write(l.buf[:n])
			return
		}
		if err == unix.EAGAIN || err == unix.EINTR {
			return // a stale event
		}
		l.remove(fd)
		unix.Close(fd)
		eof()
	})
}

// onExit calls exited once the process of pidfd has exited (the pidfd
// reads ready), and stops watching it. The caller keeps pidfd open until
// then.
func (l *eventLoop) onExit(pidfd int, exited func()) error {
	return l.add(pidfd, func() {
		pfd := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, 0); n <= 0 {
			return // a stale event
		}
		l.remove(pidfd)
		exited()
	})
}
