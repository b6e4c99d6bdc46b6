package layers

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeSize is the buffer size growPipe asks for: the default limit for
// unprivileged processes (/proc/sys/fs/pipe-max-size).
const pipeSize = 1 << 20

// growPipe enlarges the kernel buffer of w to pipeSize if w is a pipe
// with a smaller one (fcntl F_SETPIPE_SZ), so that writing a layer into
// it wakes the reader and the writer 16 times less often than the
// default 64 KiB buffer does. It changes nothing else about w (not its
// blocking mode) and ignores failures: the buffer is only an
// optimisation.
func growPipe(w io.Writer) {
	sc, ok := w.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		if n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && n < pipeSize {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
		}
	})
}
