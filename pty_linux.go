package berth

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/internal/userdb"
)

// setupTTY opens a pseudo-terminal on the container's own devpts, sends
// its master to the parent, and makes its slave the controlling terminal
// and stdin, stdout and stderr of the calling process (a session leader).
func setupTTY(conn *initproto.Conn, eu *userdb.ExecUser) error {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: "/dev/ptmx", Err: err}
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return &fs.PathError{Op: "ioctl TIOCSPTLCK", Path: "/dev/ptmx", Err: err}
	}
	// TIOCGPTPEER opens the slave through the master, without a path
	// lookup in /dev/pts that a container could redirect.
	sfd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		return &fs.PathError{Op: "ioctl TIOCGPTPEER", Path: "/dev/ptmx", Err: e}
	}
	slave := int(sfd)
	defer unix.Close(slave)
	if err := unix.Fchown(slave, int(eu.UID), int(eu.GID)); err != nil {
		return &fs.PathError{Op: "fchown", Path: "pty slave", Err: err}
	}
	if err := conn.Send(initproto.Message{Type: "pty"}, master); err != nil {
		return fmt.Errorf("sending pty master: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return &fs.PathError{Op: "ioctl TIOCSCTTY", Path: "pty slave", Err: err}
	}
	for fd := range 3 {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return &fs.PathError{Op: "dup3", Path: fmt.Sprintf("pty slave to fd %d", fd), Err: err}
		}
	}
	return nil
}

// resizePTY sets the window size of the terminal whose master is f.
func resizePTY(f *os.File, width, height uint16) error {
	ws := &unix.Winsize{Col: width, Row: height}
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return &fs.PathError{Op: "ioctl TIOCSWINSZ", Path: "pty master", Err: err}
	}
	return nil
}
