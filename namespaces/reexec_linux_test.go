package namespaces_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

func init() {
	namespaces.Register("test-args", func(context.Context) error {
		fmt.Println(strings.Join(os.Args, " "))
		return nil
	})
	namespaces.Register("test-fail", func(context.Context) error {
		return errors.New("entrypoint failed on purpose")
	})
	namespaces.Register("test-exe", exeAttack)
	namespaces.Register("test-nested", nestedReuse)
	namespaces.Register("test-orphan", orphanChild)
	namespaces.Register("test-deathsig", func(context.Context) error {
		var sig int32 // PR_GET_PDEATHSIG stores it at its argument
		if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0); e != 0 {
			return e
		}
		fmt.Printf("main thread %v, parent-death signal %d\n", unix.Gettid() == unix.Getpid(), sig)
		return nil
	})
	namespaces.Register("test-sleep", func(ctx context.Context) error {
		time.Sleep(time.Minute)
		return nil
	})
}

func TestCommandRunsEntrypoint(t *testing.T) {
	cmd, err := namespaces.Command(t.Context(), "test-args", 0, "a", "b c")
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "berth-init:test-args a b c\n", string(out))
	assert.Regexp(t, `^/proc/[0-9]+/fd/[0-9]+$`, cmd.Path, "the parent's descriptor")
	assert.Equal(t, uintptr(0), cmd.SysProcAttr.Cloneflags)
	assert.Equal(t, syscall.SIGKILL, cmd.SysProcAttr.Pdeathsig)

	again, err := namespaces.Command(t.Context(), "test-args", namespaces.Net)
	require.NoError(t, err)
	assert.Equal(t, cmd.Path, again.Path, "the sealed copy is made once and reused")
	assert.Equal(t, uintptr(namespaces.Net), again.SysProcAttr.Cloneflags)

	// A child in a new user namespace cannot look into this process: it
	// resolves the binary in its own table, at a number os/exec leaves
	// alone.
	userns, err := namespaces.Command(t.Context(), "test-args", namespaces.User)
	require.NoError(t, err)
	n, ok := strings.CutPrefix(userns.Path, "/proc/self/fd/")
	require.True(t, ok, userns.Path)
	fd, err := strconv.Atoi(n)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, fd, 256)
}

func TestDispatchEntrypointError(t *testing.T) {
	cmd, err := namespaces.Command(t.Context(), "test-fail", 0)
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 1, exitErr.ExitCode())
	assert.Contains(t, stderr.String(), "entrypoint failed on purpose")
}

func TestDispatchUnknownEntrypoint(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd := &exec.Cmd{Path: self, Args: []string{"berth-init:no-such-entrypoint"}, Stderr: &stderr}
	err = cmd.Run()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 1, exitErr.ExitCode())
	assert.Contains(t, stderr.String(), `"no-such-entrypoint": not registered`)
}

// exeAttack plays a process that wants to overwrite the binary it runs
// (CVE-2019-5736) and reports each attempt on stdout.
func exeAttack(context.Context) error {
	link, _ := os.Readlink("/proc/self/exe")
	fmt.Println("exe", link)
	for _, path := range []string{"/proc/self/exe", "/proc/1/exe"} {
		if path == "/proc/1/exe" && os.Getpid() != 1 {
			continue
		}
		fmt.Println(path, "wronly", tryWrite(path, os.O_WRONLY))
		fmt.Println(path, "rdwr", tryWrite(path, os.O_RDWR))
		fmt.Println(path, "trunc", tryWrite(path, os.O_WRONLY|os.O_TRUNC))
		fmt.Println(path, "reopen", tryReopen(path))
	}
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return err
	}
	fmt.Printf("fs %#x %#x\n", st.Type, st.Flags)
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		seals = -1 // not a memfd
	}
	fmt.Printf("seals %#x\n", seals)
	return nil
}

// tryWrite opens path with flags and writes to it; it returns "refused"
// when either step fails and "WRITTEN" when the write went through.
func tryWrite(path string, flags int) string {
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return "refused"
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("pwned"), 0); err != nil {
		return "refused"
	}
	return "WRITTEN"
}

// tryReopen takes an O_PATH handle first, then upgrades it to a writable
// one through /proc/self/fd, as the original exploit did.
func tryReopen(path string) string {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return "refused"
	}
	defer unix.Close(fd)
	return tryWrite("/proc/self/fd/"+strconv.Itoa(fd), os.O_WRONLY)
}

func sha256File(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return h.Sum(nil)
}

func checkExeAttack(t *testing.T, out string, pid1 bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Greater(t, len(lines), 2)
	memfd := strings.HasPrefix(lines[0], "exe /memfd:berth-init")
	attempts := 0
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 3 && strings.HasPrefix(f[0], "/proc/") {
			attempts++
			assert.Equal(t, "refused", f[2], l)
		}
	}
	want := 4
	if pid1 {
		want = 8
	}
	assert.Equal(t, want, attempts, out)
	var fsType, fsFlags int64
	_, err := fmt.Sscanf(lines[len(lines)-2], "fs %v %v", &fsType, &fsFlags)
	require.NoError(t, err, lines[len(lines)-2])
	last := lines[len(lines)-1]
	var seals int
	_, err = fmt.Sscanf(last, "seals %v", &seals)
	require.NoError(t, err, last)
	if memfd {
		assert.Equal(t, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE,
			seals&(unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE))
		return
	}
	// Otherwise the binary itself, seen through a read-only overlay.
	assert.Equal(t, int64(unix.OVERLAYFS_SUPER_MAGIC), fsType, lines[0])
	assert.NotZero(t, fsFlags&unix.ST_RDONLY, "overlay not read-only")
}

// TestSealedBinary is the unprivileged half of the CVE-2019-5736 check: the
// child, without namespaces, cannot write to the binary it runs, and the
// host binary stays the same.
func TestSealedBinary(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	before := sha256File(t, self)
	cmd, err := namespaces.Command(t.Context(), "test-exe", 0)
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err)
	checkExeAttack(t, string(out), false)
	assert.Equal(t, before, sha256File(t, self), "host binary changed")
}

// TestSealedBinaryContainerRoot is the privileged half: root as PID 1 of
// new namespaces tries to open the init's /proc/PID/exe for writing.
func TestSealedBinaryContainerRoot(t *testing.T) {
	testutil.RequireRoot(t)
	self, err := os.Executable()
	require.NoError(t, err)
	before := sha256File(t, self)
	cmd, err := namespaces.Command(t.Context(), "test-exe", namespaces.All)
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err)
	checkExeAttack(t, string(out), true)
	assert.Equal(t, before, sha256File(t, self), "host binary changed")
}

// nestedReuse runs in a child started by Command and starts a grandchild
// with Command. The child runs a protected binary (a sealed memfd, or the
// binary through a read-only overlay), which the grandchild must run too,
// rather than a new copy.
func nestedReuse(ctx context.Context) error {
	cmd, err := namespaces.Command(ctx, "test-args", 0)
	if err != nil {
		return err
	}
	var self, next unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		return err
	}
	if err := unix.Stat(cmd.Path, &next); err != nil {
		return err
	}
	link, _ := os.Readlink("/proc/self/exe")
	sealed, _ := os.Readlink(cmd.Path)
	fmt.Println("self memfd:", strings.HasPrefix(link, "/memfd:berth-init"))
	fmt.Println("same inode:", self.Dev == next.Dev && self.Ino == next.Ino)
	fmt.Println("grandchild memfd:", strings.HasPrefix(sealed, "/memfd:berth-init"))
	out, err := cmd.Output()
	fmt.Print(string(out))
	return err
}

// TestCommandEntrypointOnDeathSignalThread checks that the entrypoint runs
// on the thread the fork made, the only one with the parent-death signal,
// so that what it execs dies with the parent too.
func TestCommandEntrypointOnDeathSignalThread(t *testing.T) {
	for range 5 {
		cmd, err := namespaces.Command(t.Context(), "test-deathsig", 0)
		require.NoError(t, err)
		out, err := cmd.Output()
		require.NoError(t, err)
		assert.Equal(t, "main thread true, parent-death signal 9\n", string(out))
	}
}

func TestCommandNestedReusesSealedCopy(t *testing.T) {
	cmd, err := namespaces.Command(t.Context(), "test-nested", 0)
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Split(string(out), "\n")
	require.Len(t, lines, 5, string(out))
	assert.Equal(t, "same inode: true", lines[1], "the protected binary is reused")
	assert.Equal(t, strings.Replace(lines[0], "self", "grandchild", 1), lines[2], "no copy is made")
	assert.Equal(t, "berth-init:test-args", lines[3])
}

// orphanChild starts a sleeping grandchild, prints its PID and returns: the
// thread that started it exits with the process, and Pdeathsig kills it.
func orphanChild(ctx context.Context) error {
	cmd, err := namespaces.Command(context.WithoutCancel(ctx), "test-sleep", 0)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	fmt.Println(cmd.Process.Pid)
	return nil
}

func TestCommandPdeathsig(t *testing.T) {
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	cmd, err := namespaces.Command(t.Context(), "test-orphan", 0)
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	// The orphan is reparented to this process (a subreaper): reap it.
	var ws unix.WaitStatus
	done := make(chan error, 1)
	go func() {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
		assert.True(t, ws.Signaled(), "status %v", ws)
		assert.Equal(t, unix.SIGKILL, ws.Signal())
	case <-time.After(10 * time.Second):
		_ = unix.Kill(pid, unix.SIGKILL)
		<-done
		t.Fatal("grandchild survived its parent")
	}
}
