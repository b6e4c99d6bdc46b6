package cgroups

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestV2FakeStats(t *testing.T) {
	root := fakeV2(t)
	g, err := New("g", nil, WithRoot(root))
	require.NoError(t, err)
	dir := filepath.Join(root, "berth/g")
	writeFiles(t, dir, map[string]string{
		"memory.current":      "1048576\n",
		"memory.peak":         "2097152\n",
		"memory.max":          "max\n",
		"memory.swap.current": "4096\n",
		"memory.swap.max":     "0\n",
		"memory.stat":         "anon 524288\nfile 262144\nkernel 8192\nshmem 0\n" + strings.Repeat("pgfault 1\n", 1000), // larger than the buffer
		"memory.events":       "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n",
		"cpu.stat":            "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_periods 4\nnr_throttled 2\nthrottled_usec 700\n",
		"pids.current":        "3\n",
		"pids.max":            "16\n",
		"io.stat":             "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
	})
	s, err := g.Stats()
	require.NoError(t, err)
	assert.Equal(t, &Stats{
		Memory: MemoryStats{Usage: 1 << 20, MaxUsage: 2 << 20, Limit: Unlimited, SwapUsage: 4096, SwapLimit: 0,
			Anon: 512 << 10, File: 256 << 10, Kernel: 8192, Failcnt: 5, OOM: 2, OOMKill: 1},
		CPU: CPUStats{Usage: 3 * time.Millisecond, User: 2 * time.Millisecond, System: time.Millisecond,
			Periods: 4, ThrottledPeriods: 2, Throttled: 700 * time.Microsecond},
		Pids: PidsStats{Current: 3, Limit: 16},
		IO:   IOStats{Devices: []IODeviceStats{{Major: 8, ReadBytes: 4096, ReadOps: 1}}},
	}, s)

	writeFiles(t, dir, map[string]string{"cpu.stat": "usage_usec 3000\nuser_usec two\n"})
	_, err = g.Stats()
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, filepath.Join(dir, "cpu.stat"), pe.File)
	assert.Equal(t, 2, pe.Line)
	assert.Equal(t, "user_usec two", pe.Text)
}

func TestV1FakeStats(t *testing.T) {
	root := fakeV1(t, false)
	g, err := New("g", nil, WithRoot(root))
	require.NoError(t, err)
	at := func(ctrl string) string { return filepath.Join(root, ctrl, "berth/g") }
	writeFiles(t, at("memory"), map[string]string{
		"memory.usage_in_bytes":     "1048576\n",
		"memory.max_usage_in_bytes": "2097152\n",
		"memory.failcnt":            "9\n",
		"memory.stat":               v1MemoryStat("33554432"),
		"memory.oom_control":        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
	})
	writeFiles(t, at("cpu"), map[string]string{
		"cpuacct.usage": "3000000\n",
		"cpuacct.stat":  "user 2\nsystem 1\n",
		"cpu.stat":      "nr_periods 4\nnr_throttled 2\nthrottled_time 700000\n",
	})
	writeFiles(t, at("pids"), map[string]string{"pids.current": "3\n", "pids.max": "max\n"})
	writeFiles(t, at("blkio"), map[string]string{
		"blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n",
		"blkio.throttle.io_serviced_recursive":      "8:0 Read 1\n8:0 Write 0\n8:0 Total 1\nTotal 1\n",
	})
	s, err := g.Stats()
	require.NoError(t, err)
	assert.Equal(t, &Stats{
		Memory: MemoryStats{Usage: 1 << 20, MaxUsage: 2 << 20, Limit: 32 << 20, SwapLimit: 0,
			Anon: 512 << 10, File: 256 << 10, Failcnt: 9, OOM: 1, OOMKill: 1},
		CPU: CPUStats{Usage: 3 * time.Millisecond, User: 20 * time.Millisecond, System: 10 * time.Millisecond,
			Periods: 4, ThrottledPeriods: 2, Throttled: 700 * time.Microsecond},
		Pids: PidsStats{Current: 3, Limit: Unlimited},
		IO:   IOStats{Devices: []IODeviceStats{{Major: 8, ReadBytes: 4096, ReadOps: 1}}},
	}, s)

	writeFiles(t, at("memory"), map[string]string{"memory.stat": v1MemoryStat("9223372036854771712")})
	s, err = g.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(Unlimited), s.Memory.SwapLimit)

	writeFiles(t, at("pids"), map[string]string{"pids.current": "three\n"})
	_, err = g.Stats()
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, filepath.Join(at("pids"), "pids.current"), pe.File)
	assert.Equal(t, 1, pe.Line)
}

func v1MemoryStat(memsw string) string {
	return "cache 1\nrss 2\nhierarchical_memory_limit 33554432\nhierarchical_memsw_limit " + memsw +
		"\ntotal_cache 262144\ntotal_rss 524288\ntotal_swap 0\n"
}

// TestStatsMissingFiles: a controller that is not enabled leaves zeros.
func TestStatsMissingFiles(t *testing.T) {
	g, err := New("g", nil, WithRoot(fakeV2(t)))
	require.NoError(t, err)
	s, err := g.Stats()
	require.NoError(t, err)
	assert.Equal(t, &Stats{}, s)
}
