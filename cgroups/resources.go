package cgroups

// Unlimited, stored in a limit, removes the limit: it is written as "max" on
// cgroup v2 and as -1 on v1. In [Stats] it reports that no limit is set.
const Unlimited = -1

// Resources describes the limits of a group in cgroup v2 terms. Every field
// is optional: a nil pointer (or empty string, or empty slice) leaves the
// current setting alone, so the zero Resources changes nothing. On a cgroup
// v1 host the values are translated as each field's documentation says.
//
// Values are checked before anything is written: [Group.Set] and [New]
// reject a negative size, a weight out of range or a cpuset naming CPUs the
// host does not have with an error wrapping [fs.ErrInvalid].
type Resources struct {
	// Memory limits the group's memory; nil leaves it alone.
	Memory *Memory
	// CPU sets the group's CPU weight, bandwidth and cpuset; nil leaves it alone.
	CPU *CPU
	// IO sets the group's block I/O weight and per-device throttles; nil
	// leaves it alone.
	IO *IO
	// Pids limits the number of tasks; nil leaves it alone.
	Pids *Pids
	// Devices lists device access rules, applied in order; empty leaves the
	// current rules alone. Only cgroup v1 (the devices controller) supports
	// them: on v2 a non-empty list fails with [errors.ErrUnsupported],
	// because v2 needs an eBPF device program, which this package does not
	// build.
	Devices []DeviceRule
}

// Memory holds memory limits in bytes. A nil field leaves the setting alone.
type Memory struct {
	// Max is the hard limit (v2 memory.max, v1 memory.limit_in_bytes):
	// positive bytes, or Unlimited. Past it the kernel reclaims, then the OOM
	// killer runs inside the group.
	Max *int64
	// Low is the best-effort protection from reclaim (v2 memory.low): zero
	// or positive bytes, or Unlimited. On v1 it becomes the soft limit
	// memory.soft_limit_in_bytes, where 0 is written as -1 (no soft limit),
	// as runc and crun translate a reservation.
	Low *int64
	// Swap is the swap the group may use on top of memory (v2
	// memory.swap.max): zero or positive bytes, or Unlimited. v1 limits
	// memory plus swap instead, so memory.memsw.limit_in_bytes gets
	// Max+Swap (Max read back from the group when nil), or -1 when either is
	// Unlimited. It fails with errors.ErrUnsupported where the kernel has no
	// swap accounting.
	Swap *int64
	// OOMKillDisable, when true, makes tasks that reach the limit wait
	// instead of being OOM-killed (v1 memory.oom_control). v2 has no such
	// switch: true fails with errors.ErrUnsupported there. False re-enables
	// the OOM killer; nil leaves it alone.
	OOMKillDisable *bool
}

// CPU holds CPU weight, bandwidth and placement. A nil (or empty) field
// leaves the setting alone.
type CPU struct {
	// Weight is the relative share of CPU time under contention, 1 to 10000
	// (v2 cpu.weight, default 100). v1 gets cpu.shares =
	// 2 + (Weight-1)*262142/9999, which maps 1..10000 onto 2..262144; the
	// inverse, used nowhere here but by runc and crun for the other
	// direction, is 1 + (shares-2)*9999/262142.
	Weight *uint64
	// Quota is the CPU time in microseconds the group may use in each
	// Period: at least 1000, or Unlimited (v2 cpu.max, v1
	// cpu.cfs_quota_us). Two CPUs' worth is Quota = 2*Period.
	Quota *int64
	// Period is the bandwidth period in microseconds, 1000 to 1000000
	// (v2 cpu.max, v1 cpu.cfs_period_us; the kernel default is 100000).
	Period *uint64
	// Cpus lists the CPUs the group may run on, in the kernel's list format
	// ("0-3,6"), written to cpuset.cpus on both versions. Every CPU must
	// exist in the root group's effective set. Empty leaves it alone.
	Cpus string
	// Mems lists the memory nodes the group may allocate from, in the same
	// format, written to cpuset.mems. Empty leaves it alone.
	Mems string
}

// IO holds block I/O weight and per-device throttles.
type IO struct {
	// Weight is the relative share of disk time, 1 to 10000 (v2 io.weight
	// "default N", or io.bfq.weight when only BFQ offers a weight). v1 gets
	// blkio.weight (CFQ) or blkio.bfq.weight (BFQ) =
	// 10 + (Weight-1)*990/9999, which maps 1..10000 onto 10..1000. Nil
	// leaves it alone.
	Weight *uint64
	// Limits throttles single devices; empty leaves the throttles alone.
	Limits []IOLimit
}

// IOLimit throttles one block device, named by its major and minor numbers
// (see [unix.Major] on a stat of the device node). Each rate is 0 to leave
// that throttle alone, a positive number, or Unlimited to remove it. v2
// writes one io.max line ("MAJ:MIN rbps=N wbps=N riops=N wiops=N", "max" for
// Unlimited); v1 writes blkio.throttle.read_bps_device,
// write_bps_device, read_iops_device and write_iops_device ("MAJ:MIN N",
// 0 for Unlimited).
//
// [unix.Major]: https://pkg.go.dev/golang.org/x/sys/unix#Major
type IOLimit struct {
	// Major and Minor name the device (not a partition: the kernel
	// throttles whole disks).
	Major, Minor int64
	// ReadBPS and WriteBPS are bytes per second.
	ReadBPS, WriteBPS int64
	// ReadIOPS and WriteIOPS are operations per second.
	ReadIOPS, WriteIOPS int64
}

// Pids limits the number of tasks (threads count, not only processes).
type Pids struct {
	// Max is the task limit, zero or positive, or Unlimited (pids.max on
	// both versions). Nil leaves it alone.
	Max *int64
}

// DeviceRule allows or denies access to a class of device nodes, like a
// line of v1 devices.allow or devices.deny ("c 1:3 rwm").
type DeviceRule struct {
	// Allow adds the access when true and removes it when false.
	Allow bool
	// Type is 'a' (all devices; then Major, Minor and Access are ignored by
	// the kernel), 'c' (character) or 'b' (block).
	Type rune
	// Major and Minor select devices; -1 matches any ("*").
	Major, Minor int64
	// Access is a non-empty combination of 'r' (read), 'w' (write) and
	// 'm' (mknod).
	Access string
}
