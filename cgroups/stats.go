package cgroups

import "time"

// Stats is a snapshot of a group's accounting, read by [Group.Stats]. A
// field whose file the kernel does not offer (a controller that is not
// enabled, a counter an older kernel lacks) is zero. Counters include the
// group's descendants.
type Stats struct {
	// Memory is the memory controller's accounting.
	Memory MemoryStats
	// CPU is CPU time, from the cpu and cpuacct controllers on v1.
	CPU CPUStats
	// Pids is the pids controller's accounting.
	Pids PidsStats
	// IO is block I/O, from the io controller (blkio on v1).
	IO IOStats
}

// MemoryStats is memory accounting, in bytes unless noted.
type MemoryStats struct {
	// Usage is the memory in use now (v2 memory.current, v1
	// memory.usage_in_bytes).
	Usage uint64
	// MaxUsage is the highest Usage seen (v2 memory.peak, kernel 5.19+;
	// v1 memory.max_usage_in_bytes).
	MaxUsage uint64
	// Limit is the hard limit, or Unlimited (v2 memory.max). v1 reports
	// the effective limit, hierarchical_memory_limit in memory.stat: the
	// group's own unless an ancestor's is lower.
	Limit int64
	// SwapUsage is the swap in use (v2 memory.swap.current, v1 total_swap in
	// memory.stat).
	SwapUsage uint64
	// SwapLimit is the swap allowed on top of Limit, or Unlimited (v2
	// memory.swap.max; v1 hierarchical_memsw_limit minus Limit, Unlimited
	// without swap accounting).
	SwapLimit int64
	// Anon is anonymous memory (v2 anon, v1 total_rss).
	Anon uint64
	// File is page cache, shared memory included (v2 file, v1 total_cache).
	File uint64
	// Kernel is kernel memory such as slab and stacks (v2 kernel, or
	// kernel_stack+slab on older kernels; v1 memory.kmem.usage_in_bytes is
	// not read, so 0 there).
	Kernel uint64
	// Failcnt counts the times usage hit the limit (v2 "max" in
	// memory.events, v1 memory.failcnt, which recent kernels leave at 0
	// even when the limit makes the OOM killer run).
	Failcnt uint64
	// OOM counts the times the group's limit invoked the OOM killer (v2
	// "oom" in memory.events). v1 keeps no such counter, so there OOM is
	// 1 while the group is under OOM (memory.oom_control under_oom) and
	// OOMKill otherwise.
	OOM uint64
	// OOMKill counts the tasks the OOM killer killed in the group (v2
	// "oom_kill" in memory.events; v1 "oom_kill" in memory.oom_control,
	// kernel 4.13+).
	OOMKill uint64
}

// CPUStats is CPU time accounting.
type CPUStats struct {
	// Usage is the CPU time used (v2 usage_usec, v1 cpuacct.usage).
	Usage time.Duration
	// User and System split Usage by mode (v2 user_usec and system_usec;
	// v1 cpuacct.stat, in USER_HZ ticks of 10 ms).
	User, System time.Duration
	// Periods counts the bandwidth periods that had runnable tasks, and
	// ThrottledPeriods those in which the group hit its quota (nr_periods
	// and nr_throttled in cpu.stat).
	Periods, ThrottledPeriods uint64
	// Throttled is the time the group's tasks were held back by the quota
	// (v2 throttled_usec, v1 throttled_time).
	Throttled time.Duration
}

// PidsStats is task accounting.
type PidsStats struct {
	// Current is the number of tasks (pids.current).
	Current uint64
	// Limit is pids.max, or Unlimited.
	Limit int64
}

// IOStats is block I/O accounting per device.
type IOStats struct {
	// Devices has one entry per device with I/O, in the kernel's order.
	Devices []IODeviceStats
}

// IODeviceStats is one device's I/O (v2 io.stat; v1
// blkio.throttle.io_service_bytes_recursive and io_serviced_recursive).
type IODeviceStats struct {
	// Major and Minor name the device.
	Major, Minor uint32
	// ReadBytes and WriteBytes count bytes transferred (v2 rbytes and
	// wbytes; v1 Read and Write in io_service_bytes_recursive).
	ReadBytes, WriteBytes uint64
	// ReadOps and WriteOps count operations (v2 rios and wios; v1 Read and
	// Write in io_serviced_recursive).
	ReadOps, WriteOps uint64
}
