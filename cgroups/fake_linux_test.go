package cgroups

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeV2 makes a fake unified tree like a 4-CPU host's /sys/fs/cgroup.
func fakeV2(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"cgroup.controllers":     "cpuset cpu io memory hugetlb pids rdma misc\n",
		"cgroup.subtree_control": "",
		"cgroup.procs":           "1\n",
		"cpuset.cpus.effective":  "0-3\n",
		"cpuset.mems.effective":  "0\n",
	})
	return root
}

// fakeV1 makes a fake v1 tree with cpu,cpuacct co-mounted (symlinked, as
// systemd does) and, when hybrid, a unified mount without controllers.
func fakeV1(t *testing.T, hybrid bool) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"cpuset/cpuset.cpus":           "0-3\n",
		"cpuset/cpuset.mems":           "0\n",
		"cpuset/cpuset.effective_cpus": "0-3\n",
		"cpuset/cpuset.effective_mems": "0\n",
	}
	for _, c := range []string{"memory", "cpu,cpuacct", "cpuset", "blkio", "pids", "devices", "freezer"} {
		files[c+"/cgroup.procs"] = ""
	}
	if hybrid {
		files["unified/cgroup.controllers"] = ""
	}
	writeFiles(t, root, files)
	require.NoError(t, os.Symlink("cpu,cpuacct", filepath.Join(root, "cpu")))
	require.NoError(t, os.Symlink("cpu,cpuacct", filepath.Join(root, "cpuacct")))
	return root
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestProbeFakeTrees(t *testing.T) {
	assert.Equal(t, Unified, probe(fakeV2(t)).mode)
	assert.Equal(t, Legacy, probe(fakeV1(t, false)).mode)
	assert.Equal(t, Hybrid, probe(fakeV1(t, true)).mode)
	assert.Equal(t, Unavailable, probe(t.TempDir()).mode)

	noLinks := fakeV1(t, false) // a co-mount without the per-controller links
	require.NoError(t, os.Remove(filepath.Join(noLinks, "cpu")))
	require.NoError(t, os.Remove(filepath.Join(noLinks, "cpuacct")))
	nl := probe(noLinks)
	assert.Equal(t, filepath.Join(noLinks, "cpu,cpuacct"), nl.v1["cpu"])
	assert.Equal(t, filepath.Join(noLinks, "cpu,cpuacct"), nl.v1["cpuacct"])

	l := probe(fakeV1(t, false))
	assert.True(t, l.fake)
	assert.Equal(t, l.v1["cpu"], l.v1["cpuacct"], "co-mounted controllers share a hierarchy")
	assert.Len(t, l.v1, len(v1Controllers))
}

func TestNewUnavailable(t *testing.T) {
	_, err := New("x", nil, WithRoot(t.TempDir()))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

// everything sets every field that both versions support.
func everything() *Resources {
	return &Resources{
		Memory: &Memory{Max: new(int64(64 << 20)), Low: new(int64(16 << 20)), Swap: new(int64(32 << 20))},
		CPU:    &CPU{Weight: new(uint64(100)), Quota: new(int64(50000)), Period: new(uint64(100000)), Cpus: "1-2", Mems: "0"},
		IO: &IO{Weight: new(uint64(10000)), Limits: []IOLimit{
			{Major: 8, Minor: 0, ReadBPS: 1 << 20, WriteIOPS: 100},
			{Major: 253, Minor: 1, WriteBPS: Unlimited},
		}},
		Pids: &Pids{Max: new(int64(16))},
	}
}

func TestV2FakeNewWritesEveryFile(t *testing.T) {
	root := fakeV2(t)
	g, err := New("web", everything(), WithRoot(root), WithParent("/berth/test"))
	require.NoError(t, err)
	assert.Equal(t, "/berth/test/web", g.Path())
	assert.Equal(t, Unified, g.Mode())

	dir := filepath.Join(root, "berth/test/web")
	want := map[string]string{
		"memory.max":      "67108864",
		"memory.low":      "16777216",
		"memory.swap.max": "33554432",
		"cpu.weight":      "100",
		"cpu.max":         "50000 100000",
		"cpuset.cpus":     "1-2",
		"cpuset.mems":     "0",
		"io.weight":       "default 10000",
		"io.max":          "253:1 wbps=max", // the last line written; the kernel keeps one per device
		"pids.max":        "16",
	}
	for file, v := range want {
		assert.Equal(t, v, readFile(t, filepath.Join(dir, file)), file)
	}
	for _, anc := range []string{"", "berth", "berth/test"} {
		assert.Equal(t, "cpuset cpu io memory pids hugetlb", readFile(t, filepath.Join(root, anc, "cgroup.subtree_control")), "controllers enabled in /%s", anc)
	}
	assert.NoFileExists(t, filepath.Join(dir, "cgroup.subtree_control"), "the leaf enables nothing")

	_, err = New("web", nil, WithRoot(root), WithParent("/berth/test"))
	assert.ErrorIs(t, err, fs.ErrExist)
}

func TestV2FakeIOMaxLines(t *testing.T) {
	assert.Equal(t, "8:0 rbps=1048576 wiops=100", ioMaxLine(IOLimit{Major: 8, ReadBPS: 1 << 20, WriteIOPS: 100}))
	assert.Equal(t, "8:16 rbps=max wbps=max riops=max wiops=max", ioMaxLine(IOLimit{Major: 8, Minor: 16, ReadBPS: Unlimited, WriteBPS: Unlimited, ReadIOPS: Unlimited, WriteIOPS: Unlimited}))
	assert.Empty(t, ioMaxLine(IOLimit{Major: 8}))
}

func TestV2FakeSet(t *testing.T) {
	root := fakeV2(t)
	g, err := New("/abs/g", nil, WithRoot(root))
	require.NoError(t, err)
	dir := filepath.Join(root, "abs/g")

	tests := []struct {
		name       string
		r          *Resources
		file, want string
	}{
		{"unlimited memory", &Resources{Memory: &Memory{Max: new(int64(Unlimited))}}, "memory.max", "max"},
		{"no swap", &Resources{Memory: &Memory{Swap: new(int64(0))}}, "memory.swap.max", "0"},
		{"quota only keeps the period", &Resources{CPU: &CPU{Quota: new(int64(Unlimited))}}, "cpu.max", "max"},
		{"pids unlimited", &Resources{Pids: &Pids{Max: new(int64(Unlimited))}}, "pids.max", "max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, g.Set(tt.r))
			assert.Equal(t, tt.want, readFile(t, filepath.Join(dir, tt.file)))
		})
	}

	t.Run("period only keeps the quota", func(t *testing.T) {
		writeFiles(t, dir, map[string]string{"cpu.max": "20000 100000\n"})
		require.NoError(t, g.Set(&Resources{CPU: &CPU{Period: new(uint64(50000))}}))
		assert.Equal(t, "20000 50000", readFile(t, filepath.Join(dir, "cpu.max")))
	})
	t.Run("bfq weight", func(t *testing.T) {
		writeFiles(t, dir, map[string]string{"io.bfq.weight": "100\n"})
		require.NoError(t, g.Set(&Resources{IO: &IO{Weight: new(uint64(500))}}))
		assert.Equal(t, "500", readFile(t, filepath.Join(dir, "io.bfq.weight")))
	})
}

func TestV2FakeRejects(t *testing.T) {
	root := fakeV2(t)
	tests := []struct {
		name string
		r    *Resources
		want error
	}{
		{"devices need eBPF", &Resources{Devices: []DeviceRule{{Type: 'a'}}}, errors.ErrUnsupported},
		{"no oom_control", &Resources{Memory: &Memory{OOMKillDisable: new(true)}}, errors.ErrUnsupported},
		{"cpu that does not exist", &Resources{CPU: &CPU{Cpus: "0,4"}}, fs.ErrInvalid},
		{"node that does not exist", &Resources{CPU: &CPU{Mems: "1"}}, fs.ErrInvalid},
		{"bad weight", &Resources{CPU: &CPU{Weight: new(uint64(0))}}, fs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("rejected", tt.r, WithRoot(root))
			assert.ErrorIs(t, err, tt.want)
			assert.NoDirExists(t, filepath.Join(root, "berth"), "nothing is created before the check")
		})
	}

	noMem := t.TempDir()
	writeFiles(t, noMem, map[string]string{"cgroup.controllers": "cpu pids\n"})
	_, err := New("x", &Resources{Memory: &Memory{Max: new(int64(1 << 20))}}, WithRoot(noMem))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestV1FakeNewWritesEveryFile(t *testing.T) {
	root := fakeV1(t, true)
	r := everything()
	r.Memory.OOMKillDisable = new(true)
	r.Devices = []DeviceRule{{Type: 'a'}, {Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"}}
	g, err := New("web", r, WithRoot(root))
	require.NoError(t, err)
	assert.Equal(t, Hybrid, g.Mode())

	want := map[string]string{
		"memory/berth/web/memory.limit_in_bytes":           "67108864",
		"memory/berth/web/memory.soft_limit_in_bytes":      "16777216",
		"memory/berth/web/memory.memsw.limit_in_bytes":     "100663296", // max + swap
		"memory/berth/web/memory.oom_control":              "1",
		"cpu,cpuacct/berth/web/cpu.shares":                 "2597",
		"cpu,cpuacct/berth/web/cpu.cfs_quota_us":           "50000",
		"cpu,cpuacct/berth/web/cpu.cfs_period_us":          "100000",
		"cpuset/berth/web/cpuset.cpus":                     "1-2",
		"cpuset/berth/web/cpuset.mems":                     "0",
		"cpuset/berth/cpuset.cpus":                         "0-3", // copied from the root
		"cpuset/berth/cpuset.mems":                         "0",
		"blkio/berth/web/blkio.weight":                     "1000",
		"blkio/berth/web/blkio.throttle.read_bps_device":   "8:0 1048576",
		"blkio/berth/web/blkio.throttle.write_iops_device": "8:0 100",
		"blkio/berth/web/blkio.throttle.write_bps_device":  "253:1 0", // Unlimited removes the throttle
		"pids/berth/web/pids.max":                          "16",
		"devices/berth/web/devices.deny":                   "a *:* rwm",
		"devices/berth/web/devices.allow":                  "c 1:3 rwm",
	}
	for file, v := range want {
		assert.Equal(t, v, readFile(t, filepath.Join(root, file)), file)
	}
	assert.NoFileExists(t, filepath.Join(root, "cpu,cpuacct/berth/web/blkio.weight"))
	assert.NoDirExists(t, filepath.Join(root, "unified/berth"), "hybrid hosts use the v1 hierarchies")
}

func TestV1FakeSet(t *testing.T) {
	root := fakeV1(t, false)
	g, err := New("g", nil, WithRoot(root))
	require.NoError(t, err)
	mem := filepath.Join(root, "memory/berth/g")

	tests := []struct {
		name       string
		r          *Resources
		file, want string
	}{
		{"unlimited memory", &Resources{Memory: &Memory{Max: new(int64(Unlimited))}}, "memory.limit_in_bytes", "-1"},
		{"low zero is no soft limit", &Resources{Memory: &Memory{Low: new(int64(0))}}, "memory.soft_limit_in_bytes", "-1"},
		{"oom killer back on", &Resources{Memory: &Memory{OOMKillDisable: new(false)}}, "memory.oom_control", "0"},
		{"unlimited swap", &Resources{Memory: &Memory{Max: new(int64(1 << 20)), Swap: new(int64(Unlimited))}}, "memory.memsw.limit_in_bytes", "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, g.Set(tt.r))
			assert.Equal(t, tt.want, readFile(t, filepath.Join(mem, tt.file)))
		})
	}
	t.Run("swap alone adds the current limit", func(t *testing.T) {
		writeFiles(t, mem, map[string]string{"memory.limit_in_bytes": "1048576\n"})
		require.NoError(t, g.Set(&Resources{Memory: &Memory{Swap: new(int64(1 << 20))}}))
		assert.Equal(t, "2097152", readFile(t, filepath.Join(mem, "memory.memsw.limit_in_bytes")))
	})
	t.Run("bfq weight", func(t *testing.T) {
		blkio := filepath.Join(root, "blkio/berth/g")
		writeFiles(t, blkio, map[string]string{"blkio.bfq.weight": "100\n"})
		require.NoError(t, g.Set(&Resources{IO: &IO{Weight: new(uint64(1))}}))
		assert.Equal(t, "10", readFile(t, filepath.Join(blkio, "blkio.bfq.weight")))
	})
	t.Run("cpu that does not exist", func(t *testing.T) {
		err := g.Set(&Resources{CPU: &CPU{Cpus: "9"}})
		assert.ErrorIs(t, err, fs.ErrInvalid)
		assert.NoFileExists(t, filepath.Join(root, "cpuset/berth/g/cpuset.cpus.x"))
	})
}

func TestV1FakeMissingController(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"memory/cgroup.procs": ""})
	_, err := New("g", &Resources{Pids: &Pids{Max: new(int64(5))}}, WithRoot(root))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.NoDirExists(t, filepath.Join(root, "memory/berth"))

	g, err := New("g", nil, WithRoot(root))
	require.NoError(t, err)
	err = g.Freeze(t.Context())
	assert.ErrorIs(t, err, errors.ErrUnsupported, "no freezer")
	_, err = g.OpenDir()
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestFakeLoadAddProcDelete(t *testing.T) {
	for _, tc := range []struct {
		name string
		root func(t *testing.T) string
		dirs []string
	}{
		{"v2", fakeV2, []string{"berth/g"}},
		{"v1", func(t *testing.T) string { return fakeV1(t, false) }, []string{"freezer/berth/g", "memory/berth/g", "cpu,cpuacct/berth/g", "cpuset/berth/g", "blkio/berth/g", "pids/berth/g", "devices/berth/g"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root(t)
			_, err := Load("g", WithRoot(root))
			assert.ErrorIs(t, err, fs.ErrNotExist)

			_, err = New("g", nil, WithRoot(root))
			require.NoError(t, err)
			g, err := Load("g", WithRoot(root))
			require.NoError(t, err)

			require.NoError(t, g.AddProc(4242))
			for _, d := range tc.dirs {
				assert.Equal(t, "4242", readFile(t, filepath.Join(root, d, "cgroup.procs")), d)
			}
			assert.ErrorIs(t, g.AddProc(0), fs.ErrInvalid)
			writeFiles(t, filepath.Join(root, tc.dirs[0]), map[string]string{"cgroup.procs": "30\n7\n"})
			pids, err := g.Procs()
			require.NoError(t, err)
			assert.Equal(t, []int{7, 30}, pids)

			writeFiles(t, filepath.Join(root, tc.dirs[0]), map[string]string{"cgroup.procs": "x\n"})
			_, err = g.Procs()
			var pe *ParseError
			assert.ErrorAs(t, err, &pe)

			// A fake tree cannot refuse rmdir, so the populated case is
			// live-tested only; here Delete removes every directory.
			writeFiles(t, filepath.Join(root, tc.dirs[0]), map[string]string{"cgroup.procs": ""})
			require.NoError(t, g.Delete(t.Context(), nil))
			for _, d := range tc.dirs {
				assert.NoDirExists(t, filepath.Join(root, d))
			}
			assert.NoError(t, g.Delete(t.Context(), nil), "deleting twice is fine")
		})
	}
}

func TestNewUndoesOnFailure(t *testing.T) {
	root := fakeV1(t, false)
	blocker := filepath.Join(root, "devices/berth/g")
	require.NoError(t, os.MkdirAll(blocker, 0o755)) // leaf exists in one hierarchy
	_, err := New("g", &Resources{Pids: &Pids{Max: new(int64(3))}}, WithRoot(root))
	assert.ErrorIs(t, err, fs.ErrExist)

	for _, c := range []string{"memory", "freezer", "pids", "cpuset"} {
		assert.NoDirExists(t, filepath.Join(root, c, "berth"), "%s undone", c)
	}
	assert.DirExists(t, blocker, "what New did not create stays")
	// A write that fails after every directory exists undoes them too:
	// here pids.max is a directory.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "devices/berth")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "pids/berth"), 0o755))
	testHookCreated = func() { require.NoError(t, os.Mkdir(filepath.Join(root, "pids/berth/g/pids.max"), 0o755)) }
	t.Cleanup(func() { testHookCreated = nil })
	_, err = New("g", &Resources{Pids: &Pids{Max: new(int64(3))}}, WithRoot(root))
	assert.Error(t, err)
	assert.NoDirExists(t, filepath.Join(root, "pids/berth/g"))
	assert.DirExists(t, filepath.Join(root, "pids/berth"), "an ancestor New did not create stays")
	assert.NoDirExists(t, filepath.Join(root, "memory/berth"))
}

func TestV2FakeFreezeKill(t *testing.T) {
	root := fakeV2(t)
	g, err := New("g", nil, WithRoot(root))
	require.NoError(t, err)
	dir := filepath.Join(root, "berth/g")

	writeFiles(t, dir, map[string]string{"cgroup.events": "populated 1\nfrozen 1\n"})
	require.NoError(t, g.Freeze(t.Context()))
	assert.Equal(t, "1", readFile(t, filepath.Join(dir, "cgroup.freeze")))
	require.NoError(t, g.Thaw())
	assert.Equal(t, "0", readFile(t, filepath.Join(dir, "cgroup.freeze")))

	writeFiles(t, dir, map[string]string{"cgroup.events": "populated 1\nfrozen 0\n"})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, g.Freeze(ctx), context.DeadlineExceeded)
	assert.Equal(t, "0", readFile(t, filepath.Join(dir, "cgroup.freeze")), "thawed again after giving up")

	writeFiles(t, dir, map[string]string{"cgroup.kill": "", "cgroup.events": "populated 0\nfrozen 0\n"})
	require.NoError(t, g.Kill(t.Context()))
	assert.Equal(t, "1", readFile(t, filepath.Join(dir, "cgroup.kill")))

	f, err := g.OpenDir()
	require.NoError(t, err)
	st, err := f.Stat()
	require.NoError(t, err)
	assert.True(t, st.IsDir())
	require.NoError(t, f.Close())
}

func TestV1FakeFreeze(t *testing.T) {
	root := fakeV1(t, false)
	g, err := New("g", nil, WithRoot(root))
	require.NoError(t, err)
	state := filepath.Join(root, "freezer/berth/g/freezer.state")
	require.NoError(t, g.Freeze(t.Context()))
	assert.Equal(t, "FROZEN", readFile(t, state))
	require.NoError(t, g.Thaw())
	assert.Equal(t, "THAWED", readFile(t, state))
	require.NoError(t, g.Kill(t.Context()), "nothing to kill")
}

func TestFakeEvents(t *testing.T) {
	t.Run("v2", func(t *testing.T) {
		root := fakeV2(t)
		g, err := New("g", nil, WithRoot(root))
		require.NoError(t, err)
		file := filepath.Join(root, "berth/g/memory.events")
		writeFiles(t, filepath.Dir(file), map[string]string{"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"})

		ctx, cancel := context.WithCancel(t.Context())
		ch, err := g.Events(ctx)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(file, []byte("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"), 0o644))
		select {
		case e := <-ch:
			assert.Equal(t, Event{Max: 4, OOM: 1, OOMKill: 1}, e)
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
		cancel()
		requireClosed(t, ch)
	})
	t.Run("v2 delete closes", func(t *testing.T) {
		root := fakeV2(t)
		g, err := New("g", nil, WithRoot(root))
		require.NoError(t, err)
		writeFiles(t, filepath.Join(root, "berth/g"), map[string]string{"memory.events": "oom 0\n"})
		ch, err := g.Events(t.Context())
		require.NoError(t, err)
		require.NoError(t, g.Delete(t.Context(), nil))
		requireClosed(t, ch)
	})
	t.Run("v1", func(t *testing.T) {
		root := fakeV1(t, false)
		g, err := New("g", nil, WithRoot(root))
		require.NoError(t, err)
		dir := filepath.Join(root, "memory/berth/g")
		writeFiles(t, dir, map[string]string{"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"})
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := g.Events(ctx)
		require.NoError(t, err)
		fields := strings.Fields(readFile(t, filepath.Join(dir, "cgroup.event_control")))
		require.Len(t, fields, 2, "registration is \"<eventfd> <oom_control fd>\"")
		cancel()
		requireClosed(t, ch)
	})
}

func requireClosed(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case _, ok := <-ch:
		require.False(t, ok, "channel closed")
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after ctx ended")
	}
}
