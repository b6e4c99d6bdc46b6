// Package cgroups manages Linux control groups through one API over cgroup
// v1 and v2: create a group with limits, move processes into it, read its
// accounting, watch its OOM events, freeze, kill and delete it.
//
// # Vocabulary
//
//   - A hierarchy is one mounted cgroup file system. v2 (unified) has one;
//     v1 (legacy) has one per controller or set of co-mounted controllers,
//     such as cpu,cpuacct.
//   - A group is a directory in a hierarchy; its path is the directory's
//     path from the hierarchy's root, such as "/berth/web". A [Group] is
//     that path in every hierarchy the package manages.
//   - A controller (memory, cpu, cpuset, io or blkio, pids, devices,
//     freezer) enforces or accounts one resource. [Resources] describe
//     limits in v2 terms; on v1 they are translated (see each field).
//   - The root is the directory where the hierarchies are mounted,
//     [DefaultRoot] unless [WithRoot] says otherwise; the parent is the
//     group relative paths go under, [DefaultParent] unless [WithParent].
//
// # Paths
//
// A group's path is absolute and the same in every hierarchy. It never
// depends on the cgroup of the calling process (runc on a hybrid host
// places containers relative to its own cgroup in one hierarchy and at the
// root in the others; this package does not).
//
// # Modes
//
// [Mode] reports Unified (one v2 hierarchy), Hybrid (v1 hierarchies plus a
// v2 mount with few or no controllers, as systemd sets up), Legacy (v1
// only) or Unavailable. Groups on Hybrid hosts use the v1 hierarchies.
// The mode is probed once per process.
//
// # Translation to v1
//
//   - cpu.weight W (1..10000) becomes cpu.shares 2 + (W-1)*262142/9999.
//   - io.weight W becomes blkio.weight (or blkio.bfq.weight)
//     10 + (W-1)*990/9999.
//   - memory.max, memory.low and memory.swap.max become
//     memory.limit_in_bytes, memory.soft_limit_in_bytes and
//     memory.memsw.limit_in_bytes = max + swap.
//   - cpu.max "QUOTA PERIOD" becomes cpu.cfs_quota_us and cpu.cfs_period_us.
//   - io.max becomes the blkio.throttle.*_device files.
//   - Freeze uses the freezer controller; Kill freezes, signals and thaws in
//     a loop, since v1 has no cgroup.kill.
//
// Device rules work only on v1 (the devices controller): on v2 they need an
// eBPF program, which this package does not build, and they fail with
// [errors.ErrUnsupported]. Disabling the OOM killer is v1 only as well.
//
// # Privileges
//
// Creating groups, writing limits and moving processes need root (or a
// delegated subtree on v2). Reading stats of an existing group needs read
// access only. Freeze needs the v1 freezer or v2 (kernel 5.2+); Kill uses
// cgroup.kill on v2 from kernel 5.14. On cgroup v2, processes may only sit
// in leaf groups: do not put processes in a group that has children.
//
// # Testing without root
//
// [WithRoot] points the package at a fake tree of plain files, such as a
// t.TempDir() laid out like /sys/fs/cgroup (see WithRoot). Every v1 and v2
// code path runs there, minus what needs the kernel: processes, freezing
// for real, OOM notifications.
//
// Joining a v1 group costs, the first time after a quiet spell, an RCU
// grace period (milliseconds), because the kernel takes a global lock to
// move a process. Two ways avoid it: on v2, clone3 with CLONE_INTO_CGROUP
// ([Group.OpenDir]); on v1, a [ThreadMove], with which a locked thread
// moves itself into the group, forks, and moves back, so that the child is
// born in the group.
//
// # When not to use it
//
// On a host run by systemd, where groups belong to units, prefer asking
// systemd for a scope or slice (systemd-run, the D-Bus API): it owns the
// tree and may move or remove groups it does not know. This package has
// no systemd driver. It also does not build v2 device programs, rdma or
// hugetlb limits, nor per-device I/O weights.
//
// # Flow
//
//	g, err := cgroups.New("web", &cgroups.Resources{
//		Memory: &cgroups.Memory{Max: new(int64(256 << 20))},
//		CPU:    &cgroups.CPU{Quota: new(int64(50000)), Period: new(uint64(100000))},
//		Pids:   &cgroups.Pids{Max: new(int64(64))},
//	})                                      // /berth/web in every hierarchy
//	err = g.AddProc(cmd.Process.Pid)        // or OpenDir + SysProcAttr.CgroupFD on v2
//	events, err := g.Events(ctx)            // OOM kills arrive here
//	s, err := g.Stats()                     // s.Memory.Usage, s.CPU.Usage ...
//	err = g.Delete(ctx, &cgroups.DeleteOptions{Kill: true})
package cgroups
