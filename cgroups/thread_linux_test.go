package cgroups

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// threadCgroups is the calling thread's cgroup file.
func threadCgroups(t *testing.T) string {
	data, err := os.ReadFile("/proc/thread-self/cgroup")
	require.NoError(t, err)
	return string(data)
}

func TestThreadMoveEntersAndLeaves(t *testing.T) {
	requireLive(t, "pids", "memory")
	g := liveGroup(t, nil)
	if g.Mode() == Unified {
		_, err := g.PrepareThreadMove()
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		before := threadCgroups(t)
		m, err := g.PrepareThreadMove()
		require.NoError(t, err)
		defer m.Close()
		assert.Equal(t, before, threadCgroups(t), "preparing moves nothing")
		require.NoError(t, m.Enter())
		for _, line := range strings.Split(strings.TrimSpace(threadCgroups(t)), "\n") {
			if strings.Contains(line, ":pids:") || strings.Contains(line, ":memory:") {
				assert.True(t, strings.HasSuffix(line, g.Path()), "thread in the group: %s", line)
			}
		}
		pids, err := g.Procs()
		require.NoError(t, err)
		assert.Equal(t, []int{unix.Getpid()}, pids, "cgroup.procs lists the process of a thread in the group")
		require.NoError(t, m.Leave())
		assert.Equal(t, before, threadCgroups(t))
	}()
	<-done
	pids, err := g.Procs()
	require.NoError(t, err)
	assert.Empty(t, pids)
}
