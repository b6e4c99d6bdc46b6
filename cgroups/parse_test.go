package cgroups

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUintAndInt(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr error
	}{
		{"0", 0, nil},
		{"18446744073709551615", 1<<64 - 1, nil},
		{"18446744073709551616", 0, strconv.ErrRange},
		{"", 0, strconv.ErrSyntax},
		{"12a", 0, strconv.ErrSyntax},
		{"-1", 0, strconv.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseUint([]byte(tt.in))
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.want, got)
		})
	}
	v, err := parseInt([]byte("-1"))
	require.NoError(t, err)
	assert.Equal(t, int64(-1), v)
	_, err = parseInt([]byte("9223372036854775808"))
	assert.ErrorIs(t, err, strconv.ErrRange)
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"max\n", Unlimited},
		{"-1\n", Unlimited},
		{"9223372036854771712\n", Unlimited},
		{"33554432\n", 32 << 20},
		{"0", 0},
	}
	for _, tt := range tests {
		got, err := parseLimit("memory.max", []byte(tt.in))
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	_, err := parseLimit("memory.max", []byte("lots\n"))
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, ParseError{File: "memory.max", Line: 1, Text: "lots", Err: strconv.ErrSyntax}, *pe)
}

// TestParseErrors feeds each stats parser a malformed line and checks the
// typed error names the file and the line.
func TestParseErrors(t *testing.T) {
	var s Stats
	var e Event
	tests := []struct {
		name  string
		parse func(file string, data []byte) error
		data  string
		line  int
		text  string
	}{
		{"v2 memory.stat value", func(f string, b []byte) error { return parseV2MemoryStat(f, b, &s.Memory) }, "anon 1\nfile x\n", 2, "file x"},
		{"v2 memory.stat no value", func(f string, b []byte) error { return parseV2MemoryStat(f, b, &s.Memory) }, "anon\n", 1, "anon"},
		{"v2 memory.events", func(f string, b []byte) error { return parseV2MemoryEvents(f, b, &e) }, "low 0\nhigh 0\nmax -1\n", 3, "max -1"},
		{"v2 cpu.stat", func(f string, b []byte) error { return parseV2CPUStat(f, b, &s.CPU) }, "usage_usec 99999999999999999999\n", 1, "usage_usec 99999999999999999999"},
		{"v2 io.stat device", func(f string, b []byte) error { return parseV2IOStat(f, b, &s.IO) }, "8:0 rbytes=1\nsda rbytes=1\n", 2, "sda rbytes=1"},
		{"v2 io.stat field", func(f string, b []byte) error { return parseV2IOStat(f, b, &s.IO) }, "8:0 rbytes\n", 1, "8:0 rbytes"},
		{"v2 io.stat value", func(f string, b []byte) error { return parseV2IOStat(f, b, &s.IO) }, "8:0 rbytes=z\n", 1, "8:0 rbytes=z"},
		{"v1 memory.stat", func(f string, b []byte) error { return parseV1MemoryStat(f, b, &s.Memory) }, "cache 0\nrss 1.5\n", 2, "rss 1.5"},
		{"v1 oom_control", func(f string, b []byte) error { return parseV1OOMControl(f, b, &s.Memory) }, "oom_kill_disable 0\nunder_oom\n", 2, "under_oom"},
		{"v1 cpuacct.stat", func(f string, b []byte) error { return parseV1CPUAcctStat(f, b, &s.CPU) }, "user x\n", 1, "user x"},
		{"v1 cpu.stat", func(f string, b []byte) error { return parseV1CPUStat(f, b, &s.CPU) }, "nr_periods 1\n\nnr_throttled ?\n", 3, "nr_throttled ?"},
		{"v1 blkio device", func(f string, b []byte) error { return parseV1Blkio(f, b, &s.IO, true) }, "8:0 Read 1\n8-0 Write 2\n", 2, "8-0 Write 2"},
		{"v1 blkio fields", func(f string, b []byte) error { return parseV1Blkio(f, b, &s.IO, true) }, "8:0 Read 1 2\n", 1, "8:0 Read 1 2"},
		{"v1 blkio total", func(f string, b []byte) error { return parseV1Blkio(f, b, &s.IO, false) }, "Total x\n", 1, "Total x"},
		{"single", func(f string, b []byte) error { _, err := parseSingle(f, b); return err }, "12 kB\n", 1, "12 kB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse("/cg/some.file", []byte(tt.data))
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "/cg/some.file", pe.File)
			assert.Equal(t, tt.line, pe.Line)
			assert.Equal(t, tt.text, pe.Text)
			assert.True(t, errors.Is(err, strconv.ErrSyntax) || errors.Is(err, strconv.ErrRange), "wraps a strconv error: %v", err)
			assert.Contains(t, err.Error(), "/cg/some.file line")
		})
	}
}

func TestParseV2Files(t *testing.T) {
	var s Stats
	require.NoError(t, parseV2MemoryStat("memory.stat", []byte("anon 4096\nfile 8192\nkernel 100\nshmem 5\n"), &s.Memory))
	assert.Equal(t, MemoryStats{Anon: 4096, File: 8192, Kernel: 100}, s.Memory)

	var old MemoryStats // 5.x kernels: no "kernel", sum the parts
	require.NoError(t, parseV2MemoryStat("memory.stat", []byte("anon 1\nkernel_stack 16384\nslab 2000\n"), &old))
	assert.Equal(t, uint64(18384), old.Kernel)

	var e Event
	require.NoError(t, parseV2MemoryEvents("memory.events", []byte("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 0\n"), &e))
	assert.Equal(t, Event{Low: 1, High: 2, Max: 3, OOM: 4, OOMKill: 5}, e)

	require.NoError(t, parseV2CPUStat("cpu.stat", []byte("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 3\nthrottled_usec 250\nnr_bursts 0\n"), &s.CPU))
	assert.Equal(t, CPUStats{Usage: 1500 * time.Microsecond, User: time.Millisecond, System: 500 * time.Microsecond,
		Periods: 7, ThrottledPeriods: 3, Throttled: 250 * time.Microsecond}, s.CPU)

	require.NoError(t, parseV2IOStat("io.stat", []byte("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n7:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"), &s.IO))
	assert.Equal(t, []IODeviceStats{
		{Major: 8, Minor: 0, ReadBytes: 4096, WriteBytes: 8192, ReadOps: 1, WriteOps: 2},
		{Major: 7, Minor: 0, ReadBytes: 1, WriteBytes: 2, ReadOps: 3, WriteOps: 4},
	}, s.IO.Devices)
}

func TestParseV1Files(t *testing.T) {
	var m MemoryStats
	require.NoError(t, parseV1MemoryStat("memory.stat", []byte("cache 1\nrss 2\nhierarchical_memory_limit 33554432\nhierarchical_memsw_limit 50331648\ntotal_cache 8192\ntotal_rss 4096\ntotal_swap 12\n"), &m))
	assert.Equal(t, MemoryStats{Limit: 32 << 20, SwapLimit: 16 << 20, Anon: 4096, File: 8192, SwapUsage: 12}, m)

	var unlimited MemoryStats // no limit; no swap accounting (no memsw line)
	require.NoError(t, parseV1MemoryStat("memory.stat", []byte("hierarchical_memory_limit 9223372036854771712\n"), &unlimited))
	assert.Equal(t, MemoryStats{Limit: Unlimited, SwapLimit: Unlimited}, unlimited)
	var noSwapAccounting MemoryStats
	require.NoError(t, parseV1MemoryStat("memory.stat", []byte("hierarchical_memory_limit 4096\n"), &noSwapAccounting))
	assert.Equal(t, MemoryStats{Limit: 4096, SwapLimit: Unlimited}, noSwapAccounting)

	require.NoError(t, parseV1OOMControl("memory.oom_control", []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), &m))
	assert.Equal(t, uint64(3), m.OOMKill)
	assert.Equal(t, uint64(3), m.OOM)
	require.NoError(t, parseV1OOMControl("memory.oom_control", []byte("oom_kill_disable 1\nunder_oom 1\noom_kill 0\n"), &m))
	assert.Equal(t, uint64(1), m.OOM, "under_oom counts as one OOM")

	var c CPUStats
	require.NoError(t, parseV1CPUAcctStat("cpuacct.stat", []byte("user 150\nsystem 20\n"), &c))
	require.NoError(t, parseV1CPUStat("cpu.stat", []byte("nr_periods 10\nnr_throttled 4\nthrottled_time 2000000\nnr_bursts 0\nburst_time 0\n"), &c))
	assert.Equal(t, CPUStats{User: 1500 * time.Millisecond, System: 200 * time.Millisecond, Periods: 10, ThrottledPeriods: 4, Throttled: 2 * time.Millisecond}, c)

	var io IOStats
	bytesFile := "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n253:1 Read 1\n253:1 Write 0\nTotal 12289\n"
	opsFile := "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n"
	require.NoError(t, parseV1Blkio("io_service_bytes", []byte(bytesFile), &io, true))
	require.NoError(t, parseV1Blkio("io_serviced", []byte(opsFile), &io, false))
	assert.Equal(t, []IODeviceStats{
		{Major: 8, ReadBytes: 4096, WriteBytes: 8192, ReadOps: 1, WriteOps: 2},
		{Major: 253, Minor: 1, ReadBytes: 1},
	}, io.Devices)

	var empty IOStats
	require.NoError(t, parseV1Blkio("io_service_bytes", []byte("Total 0\n"), &empty, true))
	assert.Empty(t, empty.Devices)
}
