package berth_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/testutil"
)

// threads is this process's thread count.
func threads(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// TestDirectStartThreadsEnd checks that the thread of each direct start
// ends: after the container exits, after a setup failure, after a start
// cancelled midway. A thread left parked would keep the container's
// namespaces alive and add up.
func TestDirectStartThreadsEnd(t *testing.T) {
	testutil.RequireRoot(t)
	if !berth.DirectStartSupported() {
		t.Skip("the kernel has no pidns option for proc: no direct start")
	}
	testutil.CheckLeaks(t)
	rootfs := testutil.Rootfs(t)
	run := func(mutate func(*berth.Container), ctx context.Context) {
		c := &berth.Container{RootFS: rootfs, Args: []string{"/bin/true"}, StateDir: t.TempDir()}
		if mutate != nil {
			mutate(c)
		}
		_, _ = c.Run(ctx)
		_ = c.Delete(context.Background())
	}
	run(nil, t.Context()) // the runtime's own threads, started once
	before := threads(t)
	for range 10 {
		run(nil, t.Context())
		run(func(c *berth.Container) { c.Args = []string{"/bin/nope"} }, t.Context())
		run(func(c *berth.Container) { c.User = "ghost" }, t.Context())
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Microsecond)
		run(nil, ctx)
		cancel()
	}
	// Threads end after their goroutine returns: give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for threads(t) > before+3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.LessOrEqual(t, threads(t), before+3, "40 starts left their threads (from %d)", before)
}

// TestDirectStartThreadLeavesCgroup checks that the starting thread,
// which forks from inside the container's cgroup on v1, is out of it once
// Start returns: the cgroup holds the container's process only.
func TestDirectStartThreadLeavesCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	if !berth.DirectStartSupported() {
		t.Skip("the kernel has no pidns option for proc: no direct start")
	}
	if cgroups.Mode() == cgroups.Unavailable {
		t.Skip("no cgroups")
	}
	testutil.CheckLeaks(t)
	c := &berth.Container{RootFS: testutil.Rootfs(t), Args: []string{"sleep", "30"}, StateDir: t.TempDir()}
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(func() { _ = c.Delete(context.Background()) })
	st, err := c.State(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, st.Cgroup)
	g, err := cgroups.Load(st.Cgroup)
	require.NoError(t, err)
	defer g.Close()
	procs, err := g.Procs()
	require.NoError(t, err)
	assert.Equal(t, []int{c.PID()}, procs, "this process (%d) is still in the container's cgroup", os.Getpid())
}
