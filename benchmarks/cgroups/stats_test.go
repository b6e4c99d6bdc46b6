// Package cgroupsbench compares cgroups.Group.Stats with containerd's
// github.com/containerd/cgroups/v3 reading the same live group. It is a
// module of its own so that the main module never depends on containerd.
//
//	sudo go test -run XXX -bench . -benchmem -count 5 ./...   (in benchmarks/cgroups)
package cgroupsbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/stretchr/testify/require"
)

// liveGroup makes /berth-bench-<random>/g with a limit in every
// controller and a sleeping process in it, removed when tb ends.
func liveGroup(tb testing.TB) *cgroups.Group {
	tb.Helper()
	testutil.RequireRoot(tb)
	var b [4]byte
	_, _ = rand.Read(b[:])
	parent := "/berth-bench-" + hex.EncodeToString(b[:])
	r := &cgroups.Resources{
		Memory: &cgroups.Memory{Max: new(int64(256 << 20))},
		CPU:    &cgroups.CPU{Weight: new(uint64(100)), Quota: new(int64(50000)), Period: new(uint64(100000)), Cpus: "0", Mems: "0"},
		IO:     &cgroups.IO{},
		Pids:   &cgroups.Pids{Max: new(int64(64))},
	}
	g, err := cgroups.New("g", r, cgroups.WithParent(parent))
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := cgroups.Load(parent)
		require.NoError(tb, err)
		require.NoError(tb, p.Delete(ctx, &cgroups.DeleteOptions{Kill: true}))
	})
	cmd := exec.Command("sleep", "3600")
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.NoError(tb, g.AddProc(cmd.Process.Pid))
	return g
}

// containerdStat returns a function that reads the group's stats the way
// containerd does, for the host's cgroup version.
func containerdStat(tb testing.TB, path string) func() error {
	tb.Helper()
	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.Load(path)
		require.NoError(tb, err)
		return func() error { _, err := m.Stat(); return err }
	}
	c, err := cgroup1.Load(cgroup1.StaticPath(path))
	require.NoError(tb, err)
	return func() error { _, err := c.Stat(cgroup1.IgnoreNotExist); return err }
}

// TestSameGroup checks that both libraries see the same group.
func TestSameGroup(t *testing.T) {
	g := liveGroup(t)
	s, err := g.Stats()
	require.NoError(t, err)
	require.Equal(t, int64(256<<20), s.Memory.Limit)
	require.Equal(t, int64(64), s.Pids.Limit)
	require.Equal(t, uint64(1), s.Pids.Current)

	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.Load(g.Path())
		require.NoError(t, err)
		cs, err := m.Stat()
		require.NoError(t, err)
		require.Equal(t, uint64(256<<20), cs.GetMemory().GetUsageLimit())
		require.Equal(t, s.Pids.Current, cs.GetPids().GetCurrent())
		return
	}
	c, err := cgroup1.Load(cgroup1.StaticPath(g.Path()))
	require.NoError(t, err)
	cs, err := c.Stat(cgroup1.IgnoreNotExist)
	require.NoError(t, err)
	require.Equal(t, uint64(256<<20), cs.GetMemory().GetUsage().GetLimit())
	require.Equal(t, s.Pids.Current, cs.GetPids().GetCurrent())
}

func BenchmarkStats(b *testing.B) {
	g := liveGroup(b)
	b.Run("berth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.Stats(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("berth-cold", func(b *testing.B) { // every call opens the files again
		b.ReportAllocs()
		for b.Loop() {
			if err := g.Close(); err != nil {
				b.Fatal(err)
			}
			if _, err := g.Stats(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("containerd", func(b *testing.B) {
		stat := containerdStat(b, g.Path())
		b.ReportAllocs()
		for b.Loop() {
			if err := stat(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInterleaved calls both libraries in every iteration and
// reports the median time of each, so that both see the same machine
// load: on a shared machine the load moves between two sub-benchmarks,
// and a median ignores the iterations a busy scheduler stalled.
func BenchmarkInterleaved(b *testing.B) {
	g := liveGroup(b)
	stat := containerdStat(b, g.Path())
	ours := make([]time.Duration, 0, 1<<16)
	theirs := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		t0 := time.Now()
		if _, err := g.Stats(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := stat(); err != nil {
			b.Fatal(err)
		}
		ours = append(ours, t1.Sub(t0))
		theirs = append(theirs, time.Since(t1))
	}
	mo, mt := median(ours), median(theirs)
	b.ReportMetric(float64(mo.Nanoseconds()), "berth-median-ns")
	b.ReportMetric(float64(mt.Nanoseconds()), "containerd-median-ns")
	b.ReportMetric(float64(mt)/float64(mo), "speedup")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
