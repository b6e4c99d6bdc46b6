package berth_test

// The cgroup v2 counterparts of resources_linux_test.go. There, pause, CPU
// accounting and whole-cgroup kill are gated on v1 controllers (freezer,
// cpuacct) that cgroup2 does not list: freezing and cgroup.kill are core v2
// files, CPU time is cpu.stat. These tests run only on a cgroup2 host (the
// VM lane, scripts/vmtest) and check the v2 files themselves.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/testutil"
)

// requireV2 gates a test on a cgroup2 host with the given controllers.
func requireV2(t *testing.T, ctrls ...string) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "cgroup2")
	if cgroups.Mode() != cgroups.Unified {
		// cgroup2 is mounted but is not the host's hierarchy (v1 or hybrid).
		t.Skip("cgroups are not unified (v2 only) on this host")
	}
	for _, c := range ctrls {
		testutil.RequireFeature(t, "cgroup2:"+c)
	}
}

// v2Key reads KEY's value from a flat-keyed v2 file ("key value" lines).
func v2Key(t *testing.T, cgroup, file, key string) string {
	t.Helper()
	for _, line := range strings.Split(cgroupFile(t, cgroup, "", file), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			return v
		}
	}
	t.Fatalf("no %s in %s of %s", key, file, cgroup)
	return ""
}

func TestV2ResourcesWrittenToTheCgroup(t *testing.T) {
	requireV2(t, "memory", "pids", "cpu")
	testutil.CheckLeaks(t)
	c, _, _ := newContainer(t, "sleep", "30")
	c.ID = "v2-files"
	c.Resources = &cgroups.Resources{
		Memory: &cgroups.Memory{Max: ptr(int64(64 << 20))},
		Pids:   &cgroups.Pids{Max: ptr(int64(50))},
		CPU:    &cgroups.CPU{Quota: ptr(int64(25000)), Period: ptr(uint64(100000))},
	}
	require.NoError(t, c.Start(t.Context()))
	cg := "/berth/" + c.ID
	assert.Equal(t, strconv.Itoa(64<<20), cgroupFile(t, cg, "", "memory.max"))
	assert.Equal(t, "50", cgroupFile(t, cg, "", "pids.max"))
	assert.Equal(t, "25000 100000", cgroupFile(t, cg, "", "cpu.max"))
	// The init was cloned into its cgroup (CLONE_INTO_CGROUP): it is there
	// and the parent holds no process.
	procs := procsOf(t, cg)
	assert.Equal(t, []int{c.PID()}, procs)
	assert.Empty(t, cgroupFile(t, "/berth", "", "cgroup.procs"))
	require.NoError(t, c.Delete(t.Context()))
	_, err := os.Stat(filepath.Join(cgroups.DefaultRoot, cg))
	assert.ErrorIs(t, err, os.ErrNotExist, "the cgroup goes with the container")
}

func TestV2OOMKillCountedInMemoryEvents(t *testing.T) {
	requireV2(t, "memory")
	testutil.CheckLeaks(t)
	c, stdout, stderr := newContainer(t, "alloc", "64", "30")
	c.ID = "v2-oom"
	c.Resources = &cgroups.Resources{Memory: &cgroups.Memory{Max: ptr(int64(32 << 20))}}
	require.NoError(t, c.Start(t.Context()))
	// Read memory.events while the cgroup exists: the owner releases it as
	// soon as the killed init is reaped, so it may be gone already, and then
	// Wait's ErrOOMKilled (read from memory.events by the owner) is the proof.
	events := filepath.Join(cgroups.DefaultRoot, "berth", c.ID, "memory.events")
	kills := -1
	waitFor(t, func() bool {
		data, err := os.ReadFile(events)
		if errors.Is(err, fs.ErrNotExist) {
			kills = -1 // released before a read saw the kill: Wait is the proof
			return true
		}
		require.NoError(t, err)
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				kills, err = strconv.Atoi(v)
				require.NoError(t, err)
			}
		}
		return kills > 0
	})
	if kills >= 0 {
		assert.Equal(t, 1, kills)
	}
	code, err := c.Wait(t.Context())
	assert.Equal(t, 137, code, "stdout %q stderr %q", stdout, stderr)
	require.ErrorIs(t, err, berth.ErrOOMKilled)
}
