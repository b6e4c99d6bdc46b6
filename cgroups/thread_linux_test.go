package cgroups

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// threadCgroups is the cgroup file of thread tid of this process.
func threadCgroups(t *testing.T, tid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/cgroup", tid))
	require.NoError(t, err)
	return string(data)
}

func TestAddThreadMovesOneThreadAndBack(t *testing.T) {
	requireLive(t, "pids", "memory")
	g := liveGroup(t, nil)
	if g.Mode() == Unified {
		_, err := g.AddThread(unix.Gettid())
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		return
	}
	_, err := g.AddThread(-1)
	require.Error(t, err)
	for _, self := range []bool{false, true} {
		t.Run(map[bool]string{false: "by tid", true: "tid 0, the calling thread"}[self], func(t *testing.T) {
			testAddThread(t, g, self)
		})
	}
}

func testAddThread(t *testing.T, g *Group, self bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		before := threadCgroups(t, tid)
		arg := tid
		if self {
			arg = 0
		}
		restore, err := g.AddThread(arg)
		require.NoError(t, err)
		in := threadCgroups(t, tid)
		for _, line := range strings.Split(strings.TrimSpace(in), "\n") {
			if strings.Contains(line, ":pids:") || strings.Contains(line, ":memory:") {
				assert.True(t, strings.HasSuffix(line, g.Path()), "thread in the group: %s", line)
			}
		}
		if tid != unix.Getpid() {
			assert.NotContains(t, threadCgroups(t, unix.Getpid()), g.Path(), "the main thread stays")
		}
		pids, err := g.Procs()
		require.NoError(t, err)
		assert.Equal(t, []int{unix.Getpid()}, pids, "cgroup.procs lists the process of a thread in the group")
		require.NoError(t, restore())
		assert.Equal(t, before, threadCgroups(t, tid))
	}()
	<-done
	pids, err := g.Procs()
	require.NoError(t, err)
	assert.Empty(t, pids)
}
