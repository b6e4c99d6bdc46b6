package testutil

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func hasLeak(leaks []string, kind, substr string) bool {
	for _, l := range leaks {
		if strings.HasPrefix(l, kind+": ") && strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func TestLeakCheckReportsMount(t *testing.T) {
	RequireRoot(t)
	dir := t.TempDir()
	before, err := TakeSnapshot()
	require.NoError(t, err)

	require.NoError(t, unix.Mount("berth-leak-test", dir, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })

	leaks, err := waitLeaks(before, 0)
	require.NoError(t, err)
	assert.Contains(t, leaks, "mount: "+dir+" tmpfs berth-leak-test")

	require.NoError(t, unix.Unmount(dir, 0))
	leaks, err = waitLeaks(before, time.Second)
	require.NoError(t, err)
	assert.Empty(t, leaks)
}

func TestLeakCheckReportsProcessAndFD(t *testing.T) {
	before, err := TakeSnapshot()
	require.NoError(t, err)

	cmd := exec.Command(Payload(t), "sleep", "60")
	cmd.Args[0] = "payload"
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)

	leaks, err := waitLeaks(before, 0)
	require.NoError(t, err)
	assert.True(t, hasLeak(leaks, "process", strconv.Itoa(cmd.Process.Pid)+" payload"), "%v", leaks)
	assert.True(t, hasLeak(leaks, "fd", os.DevNull), "%v", leaks)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.NoError(t, f.Close())
	leaks, err = waitLeaks(before, time.Second)
	require.NoError(t, err)
	assert.Empty(t, leaks)
}

func TestLeakCheckFollowsOrphanedProcess(t *testing.T) {
	RequireFeature(t, "tool:sh")
	before, err := TakeSnapshot()
	require.NoError(t, err)
	// sh starts a sleeper in the background and exits: the sleeper is
	// reparented away from this process, and only the inherited
	// BERTH_TEST_PID marks it as ours.
	out, err := exec.Command("sh", "-c", `"$0" sleep 60 >/dev/null 2>&1 & echo $!`, Payload(t)).Output()
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = unix.Kill(pid, unix.SIGKILL) })

	leaks, err := waitLeaks(before, 0)
	require.NoError(t, err)
	assert.True(t, hasLeak(leaks, "process", strconv.Itoa(pid)+" "), "%v", leaks)

	require.NoError(t, unix.Kill(pid, unix.SIGKILL))
	leaks, err = waitLeaks(before, 2*time.Second)
	require.NoError(t, err)
	assert.Empty(t, leaks)
}

func TestCheckLeaksPassesWhenClean(t *testing.T) {
	CheckLeaks(t)
	f, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
