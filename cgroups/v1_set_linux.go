package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

func (d *v1) set(r *Resources) error {
	if r == nil {
		return nil
	}
	return firstErr(
		func() error { return d.setMemory(r.Memory) },
		func() error { return d.setCPU(r.CPU) },
		func() error { return d.setIO(r.IO) },
		func() error { return d.setPids(r.Pids) },
		func() error { return d.setDevices(r.Devices) },
	)
}

func v1Limit(v int64) string { return strconv.FormatInt(v, 10) }

func (d *v1) setMemory(m *Memory) error {
	if m == nil {
		return nil
	}
	dir := d.dir("memory")
	err := firstErr(
		func() error { return d.setMemoryLimits(dir, m.Max, m.Swap) },
		func() error {
			if m.Low == nil {
				return nil
			}
			soft := *m.Low
			if soft == 0 {
				soft = Unlimited // no soft limit
			}
			return d.w.write(dir, "memory.soft_limit_in_bytes", v1Limit(soft))
		},
	)
	if err != nil || m.OOMKillDisable == nil {
		return err
	}
	v := "0"
	if *m.OOMKillDisable {
		v = "1"
	}
	return d.w.write(dir, "memory.oom_control", v)
}

// setMemoryLimits writes memory.limit_in_bytes and
// memory.memsw.limit_in_bytes (memory plus swap). The kernel wants
// memsw >= limit at every moment, so when the limit write is refused the
// memsw limit goes first.
func (d *v1) setMemoryLimits(dir string, max, swap *int64) error {
	writeMax := func() error { return writeOpt(d.w, dir, "memory.limit_in_bytes", max, v1Limit) }
	if swap == nil {
		return writeMax()
	}
	if !d.w.fake && !exists(filepath.Join(dir, "memory.memsw.limit_in_bytes")) {
		return fmt.Errorf("no memory.memsw.limit_in_bytes (kernel without swap accounting): %w", errors.ErrUnsupported)
	}
	memsw, err := d.memswLimit(dir, max, *swap)
	if err != nil {
		return err
	}
	writeSwap := func() error { return d.w.write(dir, "memory.memsw.limit_in_bytes", v1Limit(memsw)) }
	if err := writeMax(); err != nil {
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EBUSY) {
			return err
		}
		return firstErr(writeSwap, writeMax)
	}
	return writeSwap()
}

// memswLimit computes the v1 memory+swap limit for max (read from the
// group when nil) plus swap.
func (d *v1) memswLimit(dir string, max *int64, swap int64) (int64, error) {
	limit := int64(Unlimited)
	if max != nil {
		limit = *max
	} else {
		data, err := readString(dir, "memory.limit_in_bytes")
		if err != nil {
			return 0, err
		}
		if limit, err = parseLimit(filepath.Join(dir, "memory.limit_in_bytes"), []byte(data)); err != nil {
			return 0, err
		}
	}
	if limit == Unlimited || swap == Unlimited {
		return Unlimited, nil
	}
	return limit + swap, nil
}

func (d *v1) setCPU(c *CPU) error {
	if c == nil {
		return nil
	}
	cpu, cpuset := d.dir("cpu"), d.dir("cpuset")
	return firstErr(
		func() error {
			return writeOpt(d.w, cpu, "cpu.shares", c.Weight, func(w uint64) string { return formatUint(sharesFromWeight(w)) })
		},
		func() error { return writeOpt(d.w, cpu, "cpu.cfs_period_us", c.Period, formatUint) },
		func() error { return writeOpt(d.w, cpu, "cpu.cfs_quota_us", c.Quota, v1Limit) },
		func() error { return writeStr(d.w, cpuset, "cpuset.cpus", c.Cpus) },
		func() error { return writeStr(d.w, cpuset, "cpuset.mems", c.Mems) },
	)
}

func (d *v1) setIO(o *IO) error {
	if o == nil {
		return nil
	}
	dir := d.dir("blkio")
	if o.Weight != nil {
		if err := d.setIOWeight(dir, blkioFromWeight(*o.Weight)); err != nil {
			return err
		}
	}
	for _, l := range o.Limits {
		for _, f := range []struct {
			file string
			v    int64
		}{
			{"blkio.throttle.read_bps_device", l.ReadBPS}, {"blkio.throttle.write_bps_device", l.WriteBPS},
			{"blkio.throttle.read_iops_device", l.ReadIOPS}, {"blkio.throttle.write_iops_device", l.WriteIOPS},
		} {
			if f.v == 0 {
				continue
			}
			v := max(f.v, 0) // Unlimited: 0 removes the throttle
			if err := d.w.write(dir, f.file, fmt.Sprintf("%d:%d %d", l.Major, l.Minor, v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setIOWeight writes blkio.weight (CFQ) or blkio.bfq.weight (BFQ).
func (d *v1) setIOWeight(dir string, w uint64) error {
	for _, name := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if exists(filepath.Join(dir, name)) {
			return d.w.write(dir, name, formatUint(w))
		}
	}
	if d.w.fake { // a fake tree without either file: the CFQ name
		return d.w.write(dir, "blkio.weight", formatUint(w))
	}
	return fmt.Errorf("no blkio.weight or blkio.bfq.weight in %s (no I/O scheduler with weights): %w", dir, errors.ErrUnsupported)
}

func (d *v1) setPids(p *Pids) error {
	if p == nil {
		return nil
	}
	return writeOpt(d.w, d.dir("pids"), "pids.max", p.Max, v2Limit)
}

func (d *v1) setDevices(rules []DeviceRule) error {
	dir := d.dir("devices")
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := d.w.write(dir, file, r.line()); err != nil {
			return err
		}
	}
	return nil
}
