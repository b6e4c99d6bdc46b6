package berth_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

// requireCgroups gates tests of a container's cgroup on the controllers
// they use (this machine: cgroup v1; a v2 lane has them in cgroup2).
func requireCgroups(t *testing.T, ctrls ...string) {
	t.Helper()
	testutil.RequireRoot(t)
	for _, c := range ctrls {
		if cgroups.Mode() == cgroups.Unified {
			testutil.RequireFeature(t, v2Feature(c))
		} else {
			testutil.RequireFeature(t, "cgroup1:"+c)
		}
	}
}

// v2Feature names what a v1 controller's job needs on cgroup v2: cpuacct's
// accounting is part of cpu, and freezing is a core file of every group.
func v2Feature(ctrl string) string {
	switch ctrl {
	case "cpuacct":
		return "cgroup2:cpu"
	case "freezer":
		return "cgroup2"
	}
	return "cgroup2:" + ctrl
}

// cgroupFile reads a control file of the container's cgroup in the v1
// hierarchy of ctrl, or in the v2 tree.
func cgroupFile(t *testing.T, cgroup, ctrl, name string) string {
	t.Helper()
	dir := filepath.Join(cgroups.DefaultRoot, ctrl, cgroup)
	if cgroups.Mode() == cgroups.Unified {
		dir = filepath.Join(cgroups.DefaultRoot, cgroup)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

func ptr[T any](v T) *T { return &v }

func TestProgramStartsInItsCgroup(t *testing.T) {
	requireCgroups(t, "memory", "pids")
	testutil.CheckLeaks(t)
	out, _, code := output(t, func(c *berth.Container) { c.ID = "cg-placement" }, "cat", "/proc/self/cgroup")
	require.Equal(t, 0, code)
	// The container has its own cgroup namespace: its cgroup is its root.
	// From the host, the program's cgroup is /berth/ID, checked below.
	assert.Contains(t, out, ":/\n")

	c, _, _ := newContainer(t, "sleep", "30")
	c.ID = "cg-placement-2"
	require.NoError(t, c.Start(t.Context()))
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID()))
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.Contains(line, "memory") || strings.Contains(line, "pids") || (cgroups.Mode() == cgroups.Unified && strings.HasPrefix(line, "0::")) {
			assert.True(t, strings.HasSuffix(line, ":/berth/cg-placement-2"), line)
		}
	}
	require.NoError(t, c.Delete(t.Context()))
	_, err = os.Stat(filepath.Join(cgroups.DefaultRoot, "memory", "berth", "cg-placement-2"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the cgroup goes with the container")
}

func TestMemoryLimitOOMKill(t *testing.T) {
	requireCgroups(t, "memory")
	testutil.CheckLeaks(t)
	c, stdout, stderr := newContainer(t, "alloc", "64")
	c.Resources = &cgroups.Resources{Memory: &cgroups.Memory{Max: ptr(int64(32 << 20))}}
	code, err := c.Run(t.Context())
	assert.Equal(t, 137, code, "stdout %q stderr %q", stdout, stderr)
	require.ErrorIs(t, err, berth.ErrOOMKilled)
	assert.NotContains(t, stdout.String(), "allocated")

	// Detached, Wait from another handle reads the record.
	d := &berth.Container{RootFS: testutil.Rootfs(t), Args: []string{"alloc", "64"}, StateDir: t.TempDir(), Detach: true,
		Resources: &cgroups.Resources{Memory: &cgroups.Memory{Max: ptr(int64(32 << 20))}}}
	require.NoError(t, d.Start(t.Context()))
	t.Cleanup(func() { _ = d.Delete(context.Background()) })
	loaded, err := berth.Load(t.Context(), d.StateDir, d.ID)
	require.NoError(t, err)
	code, err = loaded.Wait(t.Context())
	assert.Equal(t, 137, code)
	require.ErrorIs(t, err, berth.ErrOOMKilled)
	st, err := loaded.State(t.Context())
	require.NoError(t, err)
	assert.True(t, st.OOMKilled)

	// Under the limit nothing happens.
	c2, stdout2, _ := newContainer(t, "alloc", "8", "0.01")
	c2.Resources = &cgroups.Resources{Memory: &cgroups.Memory{Max: ptr(int64(64 << 20))}}
	code, err = c2.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout2.String(), "allocated 8 MiB")
}

func TestPidsLimitStopsForkLoop(t *testing.T) {
	requireCgroups(t, "pids")
	testutil.CheckLeaks(t)
	// A Go program needs several threads: 16 tasks leave room for the
	// payload itself and a few children, not for 40.
	out, errOut, code := output(t, func(c *berth.Container) {
		c.Resources = &cgroups.Resources{Pids: &cgroups.Pids{Max: ptr(int64(16))}}
	}, "fork", "40")
	assert.Equal(t, 1, code, "%s%s", out, errOut)
	var forked, want int
	_, err := fmt.Sscanf(out, "forked %d of %d", &forked, &want)
	require.NoError(t, err, out)
	assert.Equal(t, 40, want)
	assert.Less(t, forked, 16)
	assert.Contains(t, out, "resource temporarily unavailable")

	out, _, code = output(t, func(c *berth.Container) {
		c.Resources = &cgroups.Resources{Pids: &cgroups.Pids{Max: ptr(int64(200))}}
	}, "fork", "10")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "forked 10 of 10")
}

func TestCPUQuotaHoldsBusyLoopNearHalf(t *testing.T) {
	requireCgroups(t, "cpu", "cpuacct", "memory", "pids")
	testutil.CheckLeaks(t)
	c, _, _ := newContainer(t, "spin")
	c.Resources = &cgroups.Resources{CPU: &cgroups.CPU{Quota: ptr(int64(50000)), Period: ptr(uint64(100000))}}
	require.NoError(t, c.Start(t.Context()))
	if cgroups.Mode() != cgroups.Unified {
		assert.Equal(t, "50000", cgroupFile(t, "/berth/"+c.ID, "cpu", "cpu.cfs_quota_us"))
	}
	time.Sleep(300 * time.Millisecond) // the Go runtime's start-up
	a, err := c.Stats(t.Context())
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	b, err := c.Stats(t.Context())
	require.NoError(t, err)
	share := float64(b.CPU.Usage-a.CPU.Usage) / float64(b.Time.Sub(a.Time))
	t.Logf("CPU share over %v: %.2f of one CPU; throttled in %d of %d periods", b.Time.Sub(a.Time),
		share, b.CPU.ThrottledPeriods-a.CPU.ThrottledPeriods, b.CPU.Periods-a.CPU.Periods)
	// The quota caps it at 0.5; a busy shared machine may give less.
	assert.LessOrEqual(t, share, 0.56)
	assert.Greater(t, share, 0.15)
	assert.Greater(t, b.CPU.ThrottledPeriods, a.CPU.ThrottledPeriods, "a busy loop at half a CPU is throttled")
	assert.Greater(t, b.CPU.User+b.CPU.System, time.Duration(0))
	assert.Greater(t, b.Memory.Usage, uint64(0))
	assert.GreaterOrEqual(t, b.Pids.Current, uint64(2), "a Go program has threads")
	require.NoError(t, c.Delete(t.Context()))
}

func TestStatsArePlausible(t *testing.T) {
	requireCgroups(t, "memory", "pids", "cpuacct")
	testutil.CheckLeaks(t)
	c, _, _ := newContainer(t, "alloc", "24", "60")
	stdout := &lockedBuffer{}
	c.Stdout = stdout
	require.NoError(t, c.Start(t.Context()))
	waitFor(t, func() bool { return strings.Contains(stdout.String(), "allocated 24 MiB") })
	s, err := c.Stats(t.Context())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s.Memory.Usage, uint64(24<<20))
	assert.GreaterOrEqual(t, s.Memory.Anon, uint64(20<<20))
	assert.Less(t, s.Memory.Usage, uint64(512<<20))
	assert.GreaterOrEqual(t, s.Pids.Current, uint64(2), "a Go program has threads")
	assert.Greater(t, s.CPU.Usage, time.Duration(0))
	assert.Empty(t, s.Networks, "only loopback, which is left out")
	assert.WithinDuration(t, time.Now(), s.Time, time.Minute)

	// From another handle, as docker stats does.
	loaded, err := berth.Load(t.Context(), c.StateDir, c.ID)
	require.NoError(t, err)
	s2, err := loaded.Stats(t.Context())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s2.CPU.Usage, s.CPU.Usage)

	require.NoError(t, c.Delete(t.Context()))
	_, err = loaded.Stats(t.Context())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestPauseResume(t *testing.T) {
	requireCgroups(t, "freezer", "cpuacct")
	testutil.CheckLeaks(t)
	c, _, _ := newContainer(t, "spin")
	require.NoError(t, c.Start(t.Context()))
	cg := "/berth/" + c.ID
	unified := cgroups.Mode() == cgroups.Unified
	require.NoError(t, c.Pause(t.Context()))
	if unified {
		assert.Equal(t, "1", cgroupFile(t, cg, "", "cgroup.freeze"))
		assert.Equal(t, "1", v2Key(t, cg, "cgroup.events", "frozen"), "Pause returns once frozen")
	}
	st, err := c.State(t.Context())
	require.NoError(t, err)
	assert.Equal(t, berth.StatusPaused, st.Status)
	a, err := c.Stats(t.Context())
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	b, err := c.Stats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, a.CPU.Usage, b.CPU.Usage, "a frozen container uses no CPU")

	require.NoError(t, c.Resume(t.Context()))
	if unified {
		assert.Equal(t, "0", cgroupFile(t, cg, "", "cgroup.freeze"))
	}
	st, err = c.State(t.Context())
	require.NoError(t, err)
	assert.Equal(t, berth.StatusRunning, st.Status)
	waitFor(t, func() bool {
		s, err := c.Stats(t.Context())
		return err == nil && s.CPU.Usage > b.CPU.Usage
	})

	// Delete kills a paused container too.
	require.NoError(t, c.Pause(t.Context()))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Delete(ctx))
}

func TestDeleteKillsTheWholeCgroup(t *testing.T) {
	requireCgroups(t, "pids", "freezer")
	testutil.CheckLeaks(t)
	// Sharing the host's PID namespace, the init's children would outlive
	// it; the cgroup catches them.
	c, _, _ := newContainer(t, "fork", "3", "3600")
	stdout := &lockedBuffer{}
	c.Stdout, c.Share = stdout, namespaces.PID
	require.NoError(t, c.Start(t.Context()))
	waitFor(t, func() bool { return strings.Contains(stdout.String(), "forked 3 of 3") })
	cg := "/berth/" + c.ID
	pids := procsOf(t, cg)
	require.Len(t, pids, 4, "the init and its 3 children")
	require.NoError(t, c.Delete(t.Context()))
	for _, pid := range pids {
		// Orphans are reaped by the host's init; a zombie is dead too.
		waitFor(t, func() bool { return dead(pid) })
	}
	dir := filepath.Join(cgroups.DefaultRoot, "pids", cg)
	if cgroups.Mode() == cgroups.Unified {
		dir = filepath.Join(cgroups.DefaultRoot, cg)
	}
	_, err := os.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "the cgroup goes with the container")
}

// dead reports whether pid is gone or a zombie.
func dead(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(rest, "Z")
}

// procsOf lists the processes of a cgroup (pids hierarchy, or v2).
func procsOf(t *testing.T, cgroup string) []int {
	t.Helper()
	var out []int
	sc := bufio.NewScanner(strings.NewReader(cgroupFile(t, cgroup, "pids", "cgroup.procs")))
	for sc.Scan() {
		pid, err := strconv.Atoi(sc.Text())
		require.NoError(t, err)
		out = append(out, pid)
	}
	return out
}
