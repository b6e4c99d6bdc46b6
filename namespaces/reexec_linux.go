package namespaces

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Seals of the sealed binary. F_SEAL_EXEC (Linux 6.3) also forbids chmod;
// older kernels refuse it, and the copy is sealed without it.
const (
	sealsRequired = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	sealExec      = unix.F_SEAL_EXEC
	mfdExec       = unix.MFD_EXEC
)

// sealedFDMin is the lowest descriptor number the sealed binary is kept
// at for a child that resolves it in its own descriptor table (see
// exePath): os/exec dup2s the child's files onto 0, 1, 2, 3, ... (and spare
// numbers just above the highest of them) before execve resolves
// /proc/self/fd/N; a high N keeps it out of their way.
const sealedFDMin = 512

// sealed is the protected binary, made once per process: f at whatever
// descriptor number it got, high a duplicate numbered sealedFDMin or more
// (made when first needed), and proc this process's directory in /proc.
var sealed struct {
	mu   sync.Mutex
	f    *os.File
	high *os.File
	proc string
}

func command(ctx context.Context, name string, k Kind, args []string) (*exec.Cmd, error) {
	path, err := exePath(k)
	if err != nil {
		return nil, fmt.Errorf("namespaces: command for entrypoint %q: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = arg0(name)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: uintptr(k),
		Pdeathsig:  syscall.SIGKILL,
	}
	return cmd, nil
}

// exePath returns the path a child in new namespaces k execs to run the
// sealed binary.
//
// A child that stays in this user namespace, of a process that is
// dumpable, execs /proc/PID/fd/N, PID being this process: the magic link
// is resolved in this process's descriptor table, which os/exec's moving
// of the child's files does not touch, so N can be any number. A child in
// a new user namespace may not look into this process (ptrace access
// rules), nor may anyone into a process that is not dumpable: such a child
// execs /proc/self/fd/N with N at least sealedFDMin. Making that high
// descriptor grows the descriptor table, which in a multithreaded process
// waits for an RCU grace period (milliseconds on a busy machine) once per
// process; short-lived programs such as a CLI avoid it this way.
func exePath(k Kind) (string, error) {
	sealed.mu.Lock()
	defer sealed.mu.Unlock()
	if err := makeSealedLocked(); err != nil {
		return "", err
	}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if k&User == 0 && err == nil && dumpable == 1 {
		return sealed.proc + "/fd/" + strconv.Itoa(int(sealed.f.Fd())), nil
	}
	if sealed.high == nil {
		high, err := dupHigh(int(sealed.f.Fd()), sealed.f.Name())
		if err != nil {
			return "", err
		}
		sealed.high = high
	}
	return "/proc/self/fd/" + strconv.Itoa(int(sealed.high.Fd())), nil
}

// makeSealedLocked makes the sealed binary and finds this process in
// /proc, on first use. A failure is not cached: the next call tries
// again.
func makeSealedLocked() error {
	if sealed.f != nil {
		return nil
	}
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return fmt.Errorf("finding this process in /proc: %w", err)
	}
	f, err := makeSealedExe()
	if err != nil {
		return err
	}
	sealed.f, sealed.proc = f, "/proc/"+self
	return nil
}

// makeSealedExe makes the protected copy of the running binary: the
// binary itself when it already is a sealed memfd or runs from a
// read-only overlay (a re-executed process, such as the monitor of
// detached containers, runs from the one its parent made), else a
// zero-copy view of it on a private read-only overlay ([overlayExe]),
// else a sealed memfd copy. The result is close-on-exec.
func makeSealedExe() (*os.File, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("opening own binary: %w", err)
	}
	if isSealed(int(exe.Fd())) || onReadOnlyOverlay(int(exe.Fd())) {
		return exe, nil
	}
	defer exe.Close()
	f, err := overlayExe(exe)
	if err != nil {
		return copyExe(exe)
	}
	return f, nil
}

func memfdCreate(name string) (int, error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate(name, flags|mfdExec)
	if errors.Is(err, unix.EINVAL) { // before Linux 6.3: no MFD_EXEC
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "memfd_create", Path: name, Err: err}
	}
	return fd, nil
}

func addSeals(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, sealsRequired|sealExec)
	if errors.Is(err, unix.EINVAL) {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, sealsRequired)
	}
	if err != nil {
		return &fs.PathError{Op: "fcntl F_ADD_SEALS", Path: "memfd:berth-init", Err: err}
	}
	return nil
}

// isSealed reports whether fd is a memfd carrying at least sealsRequired.
func isSealed(fd int) bool {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	return err == nil && seals&sealsRequired == sealsRequired
}

// dupHigh returns a close-on-exec duplicate of fd numbered at least
// sealedFDMin, or as high as the open-files limit allows.
func dupHigh(fd int, name string) (*os.File, error) {
	low := sealedFDMin
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(2*low) {
		low = int(lim.Cur / 2)
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, low)
	if err != nil {
		return nil, &fs.PathError{Op: "fcntl F_DUPFD_CLOEXEC", Path: name, Err: err}
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// nameThread sets the calling thread's name (comm, at most 15 bytes), so
// that ps shows the entrypoint rather than the descriptor number execve was
// given.
func nameThread(name string) {
	if len(name) > 15 {
		name = name[:15]
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return
	}
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
}
