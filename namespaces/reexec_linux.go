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

// sealedFDMin is the lowest descriptor number the sealed binary is kept at.
// os/exec dup2s ExtraFiles onto 3, 4, ... (and spare numbers just above
// them) in the child before execve resolves /proc/self/fd/N; a high N keeps
// it out of their way for up to about (sealedFDMin-3)/2 ExtraFiles.
const sealedFDMin = 512

var sealed struct {
	mu sync.Mutex
	f  *os.File
}

func command(ctx context.Context, name string, k Kind, args []string) (*exec.Cmd, error) {
	exe, err := sealedExe()
	if err != nil {
		return nil, fmt.Errorf("namespaces: command for entrypoint %q: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, "/proc/self/fd/"+strconv.Itoa(int(exe.Fd())), args...)
	cmd.Args[0] = arg0(name)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: uintptr(k),
		Pdeathsig:  syscall.SIGKILL,
	}
	return cmd, nil
}

// sealedExe returns the process's sealed copy of its binary, making it on
// first use. A failure is not cached: the next call tries again.
func sealedExe() (*os.File, error) {
	sealed.mu.Lock()
	defer sealed.mu.Unlock()
	if sealed.f != nil {
		return sealed.f, nil
	}
	f, err := makeSealedExe()
	if err != nil {
		return nil, err
	}
	sealed.f = f
	return f, nil
}

// makeSealedExe makes the protected copy of the running binary: the
// binary itself when it already is a sealed memfd, else a zero-copy view
// of it on a private read-only overlay ([overlayExe]), else a sealed memfd
// copy.
func makeSealedExe() (*os.File, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("opening own binary: %w", err)
	}
	defer exe.Close()
	if isSealed(int(exe.Fd())) {
		return dupHigh(int(exe.Fd()), "memfd:berth-init")
	}
	f, err := overlayExe(exe)
	if err != nil {
		if f, err = copyExe(exe); err != nil {
			return nil, err
		}
	}
	defer f.Close()
	return dupHigh(int(f.Fd()), f.Name())
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
