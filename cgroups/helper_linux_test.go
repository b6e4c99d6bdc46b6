package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The live tests re-execute this test binary as the process they put in a
// group, so that they need nothing but the binary (the VM lane has no Go
// toolchain to build a payload).
const helperEnv = "BERTH_CGROUPS_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		runHelper(role)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper runs a helper role. Every role but "sleep" first waits for one
// byte on stdin, sent once the process is in its group.
func runHelper(role string) {
	name, arg, _ := strings.Cut(role, " ")
	if name != "sleep" {
		var b [1]byte
		if _, err := os.Stdin.Read(b[:]); err != nil {
			os.Exit(3)
		}
	}
	n, _ := strconv.Atoi(arg)
	switch name {
	case "alloc": // allocate and touch n MiB, then sleep
		keep := make([][]byte, 0, n)
		for range n {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated")
		time.Sleep(time.Hour)
		runtime.KeepAlive(keep)
	case "spin":
		for {
		}
	case "fork": // fork n children that block; report how many forks worked
		runtime.LockOSThread()
		ok := 0
		for range n {
			if rawFork() == nil {
				ok++
			}
		}
		fmt.Println(ok)
		time.Sleep(time.Hour)
	case "spawn": // start sleeping children until killed
		for {
			cmd := exec.Command("/proc/self/exe")
			cmd.Env = append(os.Environ(), helperEnv+"=sleep")
			_ = cmd.Start()
			time.Sleep(5 * time.Millisecond)
		}
	case "readdev": // read 4 MiB of a block device with O_DIRECT
		fmt.Println(directIO(arg, 4<<20, false))
		time.Sleep(time.Hour)
	case "writefile": // write 4 MiB to a new file with O_DIRECT
		fmt.Println(directIO(arg, 4<<20, true))
		time.Sleep(time.Hour)
	case "sleep":
		time.Sleep(time.Hour)
	}
}

// directIO reads up to n bytes of path, or writes n bytes to it, bypassing
// the page cache, and returns the count (or the error).
func directIO(path string, n int, write bool) string {
	flags := unix.O_RDONLY
	if write {
		flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC
	}
	fd, err := unix.Open(path, flags|unix.O_DIRECT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err.Error()
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err.Error()
	}
	defer unix.Munmap(buf)
	total := 0
	for total < n {
		var m int
		if write {
			m, err = unix.Pwrite(fd, buf, int64(total))
		} else {
			m, err = unix.Pread(fd, buf, int64(total))
		}
		if err != nil {
			return err.Error()
		}
		if m == 0 {
			break
		}
		total += m
	}
	if write {
		if err := unix.Fsync(fd); err != nil {
			return err.Error()
		}
	}
	return strconv.Itoa(total)
}

// rawFork forks a child that only blocks in ppoll(2) until it is killed.
// The child runs no Go code that could need the runtime.
func rawFork() error {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if pid == 0 {
		for {
			unix.RawSyscall6(unix.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	}
	return nil
}

// helper is a re-executed test binary running a role inside a group.
type helper struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	waited chan error
}

// startHelper starts role, moves it into g and lets it go. Cleanup kills
// and reaps it.
func startHelper(t *testing.T, g *Group, role string) *helper {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	h := &helper{cmd: cmd, out: bufio.NewReader(stdout), waited: make(chan error, 1)}
	go func() { h.waited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-h.waited
		h.waited <- nil // later waits see it reaped
	})
	require.NoError(t, g.AddProc(cmd.Process.Pid))
	_, err = io.WriteString(stdin, "g")
	require.NoError(t, err)
	return h
}

// line reads one line of output, failing after timeout.
func (h *helper) line(t *testing.T, timeout time.Duration) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		s, _ := h.out.ReadString('\n')
		ch <- strings.TrimSpace(s)
	}()
	select {
	case s := <-ch:
		return s
	case <-time.After(timeout):
		t.Fatalf("no output from helper %v in %v", h.cmd.Env[len(h.cmd.Env)-1], timeout)
		return ""
	}
}

// wait waits for the helper to exit and returns its wait status.
func (h *helper) wait(t *testing.T, timeout time.Duration) syscall.WaitStatus {
	t.Helper()
	select {
	case <-h.waited:
		h.waited <- nil
		return h.cmd.ProcessState.Sys().(syscall.WaitStatus)
	case <-time.After(timeout):
		t.Fatalf("helper %d still running after %v", h.cmd.Process.Pid, timeout)
		return 0
	}
}
