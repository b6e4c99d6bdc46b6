package cgroups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Live tests run as root against the host's real hierarchies: v1 on the
// development machines, v2 in the VM lane (scripts/vmtest). Each works in
// a child group of its own test parent, removed by t.Cleanup.

// requireLive skips unless running as root with the named controllers
// (v1 names; blkio is io on v2, and freezer, cpuacct and devices need no
// v2 controller: freezing and CPU time are core v2 files, and devices are
// not supported there).
func requireLive(t *testing.T, controllers ...string) {
	t.Helper()
	testutil.RequireRoot(t)
	switch Mode() {
	case Unified:
		for _, c := range controllers {
			switch c {
			case "blkio":
				testutil.RequireFeature(t, "cgroup2:io")
			case "freezer", "cpuacct", "devices":
				testutil.RequireFeature(t, "cgroup2")
			default:
				testutil.RequireFeature(t, "cgroup2:"+c)
			}
		}
	default:
		for _, c := range controllers {
			testutil.RequireFeature(t, "cgroup1:"+c)
		}
	}
	testutil.CheckLeaks(t)
}

// liveGroup creates a group under a fresh /berth-test-<random> parent and
// removes both when the test ends, killing what is left.
func liveGroup(t *testing.T, r *Resources) *Group {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	parent := "/berth-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		p, err := Load(parent)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, p.Delete(ctx, &DeleteOptions{Kill: true}))
	})
	g, err := New("g", r, WithParent(parent))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, g.Close()) })
	return g
}

// groupDirs lists the group's directories on the host.
func groupDirs(g *Group) []string {
	if g.Mode() == Unified {
		return []string{filepath.Join(DefaultRoot, g.Path())}
	}
	var dirs []string
	for _, c := range v1Controllers {
		if root, ok := hostLayout().v1[c]; ok {
			dirs = append(dirs, filepath.Join(root, g.Path()))
		}
	}
	return dirs
}

func TestLiveOOMKillEvent(t *testing.T) {
	requireLive(t, "memory")
	g := liveGroup(t, &Resources{Memory: &Memory{Max: new(int64(32 << 20)), Swap: new(int64(0))}})
	kills, err := g.OOMKills()
	require.NoError(t, err)
	require.Zero(t, kills, "a new group")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	events, err := g.Events(ctx)
	require.NoError(t, err)

	h := startHelper(t, g, "alloc 64")
	ws := h.wait(t, 60*time.Second)
	require.True(t, ws.Signaled(), "the 64 MiB allocation ends by a signal: %v", ws)
	assert.Equal(t, syscall.SIGKILL, ws.Signal())

	// Counters change one at a time (v2 "max" first; v1 notifies before
	// the kill is counted): wait for the snapshot with the kill.
	e := nextEvent(t, events, func(e Event) bool { return e.OOMKill > 0 })
	assert.GreaterOrEqual(t, e.OOM, uint64(1))
	assert.GreaterOrEqual(t, e.OOMKill, uint64(1))
	s, err := g.Stats()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s.Memory.OOMKill, uint64(1))
	kills, err = g.OOMKills()
	require.NoError(t, err)
	assert.Equal(t, s.Memory.OOMKill, kills, "OOMKills reads the count Stats reports")
	if g.Mode() == Unified { // v1 memory.failcnt stays 0 on some kernels (6.18 here)
		assert.Positive(t, s.Memory.Failcnt)
	}
	assert.Equal(t, int64(32<<20), s.Memory.Limit)
	assert.Equal(t, int64(0), s.Memory.SwapLimit)
}

// nextEvent waits for an event satisfying ok.
func nextEvent(t *testing.T, ch <-chan Event, ok func(Event) bool) Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, open := <-ch:
			require.True(t, open)
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no matching event")
		}
	}
}

func TestLivePidsMaxStopsForks(t *testing.T) {
	requireLive(t, "pids")
	g := liveGroup(t, &Resources{Pids: &Pids{Max: new(int64(16))}})
	h := startHelper(t, g, "fork 64")
	forked, err := strconv.Atoi(h.line(t, 30*time.Second))
	require.NoError(t, err)
	assert.Positive(t, forked, "some forks fit under the limit")
	assert.Less(t, forked, 16, "pids.max stopped the fork loop")

	s, err := g.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(16), s.Pids.Limit)
	assert.LessOrEqual(t, s.Pids.Current, uint64(16))
	assert.Greater(t, s.Pids.Current, uint64(forked), "the children and the helper's threads are counted")
}

func TestLiveFreezeThaw(t *testing.T) {
	requireLive(t, "freezer", "cpuacct")
	g := liveGroup(t, nil)
	startHelper(t, g, "spin")
	usage := func() time.Duration {
		s, err := g.Stats()
		require.NoError(t, err)
		return s.CPU.Usage
	}
	require.Eventually(t, func() bool { return usage() > 20*time.Millisecond }, 20*time.Second, 10*time.Millisecond, "the spinner runs")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	require.NoError(t, g.Freeze(ctx))
	frozen := usage()
	time.Sleep(300 * time.Millisecond)
	assert.Less(t, usage()-frozen, 5*time.Millisecond, "a frozen group uses no CPU")

	require.NoError(t, g.Thaw())
	thawed := usage()
	assert.Eventually(t, func() bool { return usage()-thawed > 50*time.Millisecond }, 20*time.Second, 10*time.Millisecond, "the spinner runs again")
}

func TestLiveKillIncludesForks(t *testing.T) {
	requireLive(t, "freezer", "pids")
	g := liveGroup(t, nil)
	h := startHelper(t, g, "spawn")
	require.Eventually(t, func() bool {
		pids, err := g.Procs()
		return err == nil && len(pids) >= 4
	}, 30*time.Second, 10*time.Millisecond, "the spawner fills the group")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, g.Kill(ctx))
	pids, err := g.Procs()
	require.NoError(t, err)
	assert.Empty(t, pids)
	ws := h.wait(t, 10*time.Second)
	assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%v", ws)
}

func TestLiveDelete(t *testing.T) {
	requireLive(t, "memory", "pids")
	g := liveGroup(t, nil)
	child, err := New(strings.TrimPrefix(g.Path(), "/")+"/child", nil, WithParent("/"))
	require.NoError(t, err)
	startHelper(t, child, "sleep")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = g.Delete(ctx, nil)
	require.ErrorIs(t, err, ErrPopulated)
	for _, d := range groupDirs(g) {
		assert.DirExists(t, d, "a populated group stays")
	}

	require.NoError(t, g.Delete(ctx, &DeleteOptions{Kill: true}))
	for _, d := range groupDirs(g) {
		assert.NoDirExists(t, d)
	}
	_, err = Load(g.Path())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestLiveStatsGrow(t *testing.T) {
	requireLive(t, "memory", "cpuacct", "pids")
	g := liveGroup(t, nil)
	before, err := g.Stats()
	require.NoError(t, err)

	h := startHelper(t, g, "alloc 24")
	require.Equal(t, "allocated", h.line(t, 30*time.Second))
	startHelper(t, g, "spin")
	var after *Stats
	require.Eventually(t, func() bool {
		after, err = g.Stats()
		require.NoError(t, err)
		return after.CPU.Usage > before.CPU.Usage+50*time.Millisecond
	}, 20*time.Second, 20*time.Millisecond)

	assert.GreaterOrEqual(t, after.Memory.Usage, uint64(24<<20))
	assert.GreaterOrEqual(t, after.Memory.MaxUsage, after.Memory.Usage)
	assert.GreaterOrEqual(t, after.Memory.Anon, uint64(20<<20))
	assert.Equal(t, int64(Unlimited), after.Memory.Limit)
	assert.Greater(t, after.CPU.User+after.CPU.System, before.CPU.User+before.CPU.System)
	assert.GreaterOrEqual(t, after.Pids.Current, uint64(2))
	assert.Equal(t, int64(Unlimited), after.Pids.Limit)
}

// TestLiveSetReadBack writes every resource to the kernel and reads the
// files back, so the translation is checked against what the kernel takes.
func TestLiveSetReadBack(t *testing.T) {
	requireLive(t, "memory", "cpu", "cpuset", "pids")
	g := liveGroup(t, nil)
	r := &Resources{
		Memory: &Memory{Max: new(int64(64 << 20)), Low: new(int64(8 << 20)), Swap: new(int64(16 << 20))},
		CPU:    &CPU{Weight: new(uint64(200)), Quota: new(int64(25000)), Period: new(uint64(50000)), Cpus: "0", Mems: "0"},
		Pids:   &Pids{Max: new(int64(99))},
	}
	require.NoError(t, g.Set(r))

	want := map[string]string{ // v2
		"memory.max": "67108864", "memory.low": "8388608", "memory.swap.max": "16777216",
		"cpu.weight": "200", "cpu.max": "25000 50000", "cpuset.cpus": "0", "cpuset.mems": "0", "pids.max": "99",
	}
	if g.Mode() != Unified {
		want = map[string]string{
			"memory/memory.limit_in_bytes": "67108864", "memory/memory.soft_limit_in_bytes": "8388608",
			"memory/memory.memsw.limit_in_bytes": "83886080", "cpu/cpu.shares": "5219",
			"cpu/cpu.cfs_quota_us": "25000", "cpu/cpu.cfs_period_us": "50000",
			"cpuset/cpuset.cpus": "0", "cpuset/cpuset.mems": "0", "pids/pids.max": "99",
		}
	}
	for file, v := range want {
		assert.Equal(t, v, strings.TrimSpace(readFile(t, liveFile(g, file))), file)
	}

	// Raising the limit above the memsw limit needs the other order on v1.
	require.NoError(t, g.Set(&Resources{Memory: &Memory{Max: new(int64(256 << 20)), Swap: new(int64(0))}}))
	s, err := g.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(256<<20), s.Memory.Limit)
	assert.Equal(t, int64(0), s.Memory.SwapLimit)
	assert.Equal(t, int64(99), s.Pids.Limit)

	err = g.Set(&Resources{CPU: &CPU{Cpus: "0-4095"}})
	assert.ErrorIs(t, err, os.ErrInvalid, "CPUs the host does not have")
}

// liveFile names a control file: "ctrl/file" on v1, "file" on v2.
func liveFile(g *Group, file string) string {
	if g.Mode() == Unified {
		return filepath.Join(DefaultRoot, g.Path(), file)
	}
	ctrl, name, _ := strings.Cut(file, "/")
	return filepath.Join(hostLayout().v1[ctrl], g.Path(), name)
}

func TestLiveDevices(t *testing.T) {
	requireLive(t, "devices")
	g := liveGroup(t, nil)
	rules := []DeviceRule{{Type: 'a'}, {Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"}, {Allow: true, Type: 'c', Major: 136, Minor: -1, Access: "rw"}}
	err := g.Set(&Resources{Devices: rules})
	if g.Mode() == Unified {
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		return
	}
	require.NoError(t, err)
	assert.Equal(t, "c 1:3 rwm\nc 136:* rw\n", readFile(t, liveFile(g, "devices/devices.list")))
}

// TestLiveAbsolutePaths: the group sits at the same absolute path in every
// hierarchy, whatever cgroup the test process itself is in.
func TestLiveAbsolutePaths(t *testing.T) {
	requireLive(t, "memory", "pids")
	g := liveGroup(t, nil)
	h := startHelper(t, g, "sleep")
	data, err := os.ReadFile("/proc/" + strconv.Itoa(h.cmd.Process.Pid) + "/cgroup")
	require.NoError(t, err)
	seen := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		require.Len(t, parts, 3)
		managed := g.Mode() == Unified && parts[0] == "0"
		for _, c := range strings.Split(parts[1], ",") {
			if _, ok := hostLayout().v1[c]; ok {
				managed = true
			}
		}
		if managed {
			assert.Equal(t, g.Path(), parts[2], line)
			seen++
		}
	}
	assert.Positive(t, seen)
	for _, d := range groupDirs(g) {
		assert.DirExists(t, d)
	}
}

// ioTarget picks real block I/O for the group to do: writing a file in
// t.TempDir() when a disk backs it (the development machines, where raw
// disks cannot be opened), else reading a raw disk (the VM lane, whose
// root is in memory and which attaches a virtio disk). It returns the
// helper role and the disk's numbers.
func ioTarget(t *testing.T) (role string, major, minor int64) {
	t.Helper()
	dir := t.TempDir()
	var st unix.Stat_t
	require.NoError(t, unix.Stat(dir, &st))
	if sys := diskOf(int64(unix.Major(st.Dev)), int64(unix.Minor(st.Dev))); sys != "" {
		major, minor = devNumbers(t, sys)
		return "writefile " + filepath.Join(dir, "data"), major, minor
	}
	entries, err := os.ReadDir("/sys/block")
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") {
			continue
		}
		size, err := os.ReadFile(filepath.Join("/sys/block", name, "size"))
		if err != nil || strings.TrimSpace(string(size)) == "0" || !exists("/dev/"+name) {
			continue
		}
		major, minor = devNumbers(t, filepath.Join("/sys/block", name))
		return "readdev /dev/" + name, major, minor
	}
	t.Skip("no disk behind t.TempDir() and none in /sys/block (the VM lane attaches one)")
	return "", 0, 0
}

// diskOf returns the sysfs directory of the whole disk holding block
// device major:minor, or "" when it is not a block device.
func diskOf(major, minor int64) string {
	p, err := filepath.EvalSymlinks(fmt.Sprintf("/sys/dev/block/%d:%d", major, minor))
	if err != nil {
		return ""
	}
	if exists(filepath.Join(p, "partition")) {
		return filepath.Dir(p)
	}
	return p
}

func devNumbers(t *testing.T, sys string) (major, minor int64) {
	t.Helper()
	num, err := os.ReadFile(filepath.Join(sys, "dev"))
	require.NoError(t, err)
	ma, mi, _ := strings.Cut(strings.TrimSpace(string(num)), ":")
	major, err = strconv.ParseInt(ma, 10, 64)
	require.NoError(t, err)
	minor, err = strconv.ParseInt(mi, 10, 64)
	require.NoError(t, err)
	return major, minor
}

// TestLiveIO throttles a real disk, does I/O on it from inside the group
// and finds it in the group's stats.
func TestLiveIO(t *testing.T) {
	requireLive(t, "blkio")
	role, major, minor := ioTarget(t)
	g := liveGroup(t, nil)
	limits := []IOLimit{{Major: major, Minor: minor, ReadBPS: 1 << 40, WriteIOPS: 100000}}
	err := g.Set(&Resources{IO: &IO{Weight: new(uint64(500)), Limits: limits}})
	if errors.Is(err, errors.ErrUnsupported) { // no I/O scheduler with weights: limits alone
		err = g.Set(&Resources{IO: &IO{Limits: limits}})
	}
	require.NoError(t, err)
	id := fmt.Sprintf("%d:%d", major, minor)
	if g.Mode() == Unified {
		assert.Equal(t, id+" rbps=1099511627776 wbps=max riops=max wiops=100000", strings.TrimSpace(readFile(t, liveFile(g, "io.max"))))
	} else {
		assert.Equal(t, id+" 1099511627776", strings.TrimSpace(readFile(t, liveFile(g, "blkio/blkio.throttle.read_bps_device"))))
		assert.Equal(t, id+" 100000", strings.TrimSpace(readFile(t, liveFile(g, "blkio/blkio.throttle.write_iops_device"))))
	}

	h := startHelper(t, g, role)
	require.Equal(t, strconv.Itoa(4<<20), h.line(t, 60*time.Second), role)
	var found IODeviceStats
	require.Eventually(t, func() bool {
		s, err := g.Stats()
		require.NoError(t, err)
		for _, d := range s.IO.Devices {
			if int64(d.Major) == major && int64(d.Minor) == minor {
				found = d
			}
		}
		return found.ReadBytes+found.WriteBytes >= 4<<20
	}, 10*time.Second, 20*time.Millisecond, "I/O on %s counted: %+v", id, found)
	assert.Positive(t, found.ReadOps+found.WriteOps)
}

// TestLiveEventsEndWithGroup: deleting the group closes the channel.
func TestLiveEventsEndWithGroup(t *testing.T) {
	requireLive(t, "memory")
	g := liveGroup(t, nil)
	events, err := g.Events(t.Context())
	require.NoError(t, err)
	require.NoError(t, g.Delete(t.Context(), nil))
	requireClosed(t, events)
}

// TestLiveStatsAfterRecreate: Stats keeps files open; when the group is
// deleted and made again at the same path, the same Group reads the new one.
func TestLiveStatsAfterRecreate(t *testing.T) {
	requireLive(t, "memory", "pids")
	g := liveGroup(t, &Resources{Pids: &Pids{Max: new(int64(10))}})
	s, err := g.Stats()
	require.NoError(t, err)
	require.Equal(t, int64(10), s.Pids.Limit)

	other, err := Load(g.Path()) // delete through another Group: g's files stay open
	require.NoError(t, err)
	require.NoError(t, other.Delete(t.Context(), nil))
	again, err := New(g.Path(), &Resources{Pids: &Pids{Max: new(int64(20))}})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, again.Close()) })
	s, err = g.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(20), s.Pids.Limit)

	require.NoError(t, g.Close())
	s, err = g.Stats()
	require.NoError(t, err, "usable after Close")
	assert.Equal(t, int64(20), s.Pids.Limit)
}

func TestLiveOOMKillsDeleted(t *testing.T) {
	requireLive(t, "memory")
	g := liveGroup(t, nil)
	require.NoError(t, g.Delete(t.Context(), nil))
	_, err := g.OOMKills()
	require.ErrorIs(t, err, fs.ErrNotExist)
}
