package berth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

func TestDetached(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	stateDir := t.TempDir()
	rootfs := testutil.Rootfs(t)
	c := &berth.Container{ID: "detached-1", RootFS: rootfs, Args: []string{"echo", "from", "the", "monitor"}, StateDir: stateDir, Detach: true}
	require.NoError(t, c.Start(t.Context()))
	code, err := c.Wait(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, code)

	long := &berth.Container{ID: "detached-2", RootFS: rootfs, Args: []string{"sleep", "100"}, StateDir: stateDir, Detach: true}
	require.NoError(t, long.Start(t.Context()))
	t.Cleanup(func() { _ = long.Delete(context.Background()) })

	assertMonitorSealed(t, stateDir)

	states, err := berth.List(t.Context(), stateDir)
	require.NoError(t, err)
	require.Len(t, states, 2)
	assert.Equal(t, berth.StatusExited, states[0].Status)
	assert.Equal(t, berth.StatusRunning, states[1].Status)
	assert.True(t, states[1].Detached)

	loaded, err := berth.Load(t.Context(), stateDir, "detached-1")
	require.NoError(t, err)
	var lines []string
	require.NoError(t, loaded.Logs(t.Context(), false, func(e berth.LogEntry) error {
		lines = append(lines, e.Stream+": "+e.Text)
		return nil
	}))
	assert.Equal(t, []string{"stdout: from the monitor\n"}, lines)
	require.NoError(t, loaded.Delete(t.Context()))
	_, err = berth.Load(t.Context(), stateDir, "detached-1")
	require.ErrorIs(t, err, os.ErrNotExist)

	l2, err := berth.Load(t.Context(), stateDir, "detached-2")
	require.NoError(t, err)
	// A stopped process cannot act on SIGTERM: Stop must fall back to SIGKILL.
	require.NoError(t, l2.Signal(syscall.SIGSTOP))
	code, err = l2.Stop(t.Context(), 200*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 137, code)
	require.NoError(t, l2.Delete(t.Context()))

	// The monitor exits once idle, and removes its socket.
	waitFor(t, func() bool {
		_, err := os.Stat(filepath.Join(stateDir, "monitor.sock"))
		return os.IsNotExist(err)
	})
}

// assertMonitorSealed checks that the monitor of stateDir runs from a
// binary nobody can write to (CVE-2019-5736), and re-executes its inits
// from it without a copy of its own (no memfd).
func assertMonitorSealed(t *testing.T, stateDir string) {
	t.Helper()
	pid := monitorPID(t, stateDir)
	require.NotZero(t, pid, "no monitor for %s", stateDir)
	_, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", pid), os.O_WRONLY, 0)
	assert.ErrorIs(t, err, syscall.EROFS)
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	require.NoError(t, err)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	for _, fd := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		assert.NotContains(t, target, "memfd:", "fd %s", fd.Name())
	}
	assert.NotContains(t, string(maps), "memfd:")
}

// monitorPID finds the monitor of stateDir, or returns 0.
func monitorPID(t *testing.T, stateDir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(cmdline), "\x00")
		if err == nil && len(args) > 1 && strings.HasPrefix(filepath.Base(args[0]), "berth-init-monitor") && args[1] == stateDir {
			return pid
		}
	}
	return 0
}

func TestDetachedUnknownUserFailsAtStage(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	c := &berth.Container{RootFS: testutil.Rootfs(t), Args: []string{"true"}, User: "ghost", StateDir: t.TempDir(), Detach: true}
	err := c.Start(t.Context())
	var ie *berth.InitError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "user", ie.Stage)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

const starterEntrypoint = "berth-test-starter"

func init() {
	namespaces.Register(starterEntrypoint, func(ctx context.Context) error {
		stateDir, rootfs, step := os.Args[1], os.Args[2], os.Args[3]
		berth.SetStartHook(func(s string) {
			if s == step {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		})
		c := &berth.Container{ID: "victim", RootFS: rootfs, Args: []string{"sleep", "100"}, StateDir: stateDir}
		return c.Start(ctx)
	})
}

// TestGCAfterCrashAtEachStep kills the starting process at each step of
// Start and checks that GC removes everything it left.
func TestGCAfterCrashAtEachStep(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	rootfs := testutil.Rootfs(t)
	for _, step := range []string{"state", "spawned", "ready", "running"} {
		t.Run(step, func(t *testing.T) {
			stateDir := t.TempDir()
			cmd, err := namespaces.Command(t.Context(), starterEntrypoint, 0, stateDir, rootfs, step)
			require.NoError(t, err)
			cmd.Stderr = os.Stderr
			err = cmd.Run()
			require.Error(t, err)
			assert.Equal(t, "signal: killed", err.Error())

			entries, err := os.ReadDir(filepath.Join(stateDir, "containers"))
			require.NoError(t, err)
			require.Len(t, entries, 1, "the crash left state")
			st, err := os.ReadFile(filepath.Join(stateDir, "containers", entries[0].Name(), "state.json"))
			require.NoError(t, err)
			pid := pidOf(string(st))

			removed, err := berth.GC(t.Context(), stateDir)
			require.NoError(t, err)
			assert.Equal(t, []string{"victim"}, removed)
			entries, err = os.ReadDir(filepath.Join(stateDir, "containers"))
			require.NoError(t, err)
			assert.Empty(t, entries, "GC removed everything")
			if pid > 0 {
				waitFor(t, func() bool { return syscall.Kill(pid, 0) != nil })
			}
			removed, err = berth.GC(t.Context(), stateDir)
			require.NoError(t, err)
			assert.Empty(t, removed)
		})
	}
}

func pidOf(stateJSON string) int {
	i := strings.Index(stateJSON, `"pid": `)
	if i < 0 {
		return 0
	}
	var pid int
	fmt.Sscan(stateJSON[i+len(`"pid": `):], &pid)
	return pid
}
