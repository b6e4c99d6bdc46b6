package cgroups

import "time"

// v1StatReaders lists the files v1 Stats reads, fifteen in all, skipping
// controllers that are not mounted.
func v1StatReaders(dirs map[string]string, fake bool) []statReader {
	var rs []statReader
	add := func(ctrl, name string, parse func(string, []byte, *Stats) error) {
		if dir, ok := dirs[ctrl]; ok {
			rs = append(rs, statReader{newCFile(dir, name, fake), parse})
		}
	}
	add("memory", "memory.usage_in_bytes", single(func(s *Stats, v uint64) { s.Memory.Usage = v }))
	add("memory", "memory.max_usage_in_bytes", single(func(s *Stats, v uint64) { s.Memory.MaxUsage = v }))
	add("memory", "memory.limit_in_bytes", limit(func(s *Stats, v int64) { s.Memory.Limit = v }))
	add("memory", "memory.memsw.limit_in_bytes", limit(setMemswLimit))
	add("memory", "memory.failcnt", single(func(s *Stats, v uint64) { s.Memory.Failcnt = v }))
	add("memory", "memory.stat", func(f string, b []byte, s *Stats) error { return parseV1MemoryStat(f, b, &s.Memory) })
	add("memory", "memory.oom_control", func(f string, b []byte, s *Stats) error { return parseV1OOMControl(f, b, &s.Memory) })
	add("cpuacct", "cpuacct.usage", single(func(s *Stats, v uint64) { s.CPU.Usage = time.Duration(v) }))
	add("cpuacct", "cpuacct.stat", func(f string, b []byte, s *Stats) error { return parseV1CPUAcctStat(f, b, &s.CPU) })
	add("cpu", "cpu.stat", func(f string, b []byte, s *Stats) error { return parseV1CPUStat(f, b, &s.CPU) })
	add("pids", "pids.current", single(func(s *Stats, v uint64) { s.Pids.Current = v }))
	add("pids", "pids.max", limit(func(s *Stats, v int64) { s.Pids.Limit = v }))
	add("blkio", "blkio.throttle.io_service_bytes_recursive", func(f string, b []byte, s *Stats) error {
		return parseV1Blkio(f, b, &s.IO, true)
	})
	add("blkio", "blkio.throttle.io_serviced_recursive", func(f string, b []byte, s *Stats) error {
		return parseV1Blkio(f, b, &s.IO, false)
	})
	return rs
}

// setMemswLimit turns v1's memory+swap limit into the swap on top of the
// memory limit, which memory.limit_in_bytes (read just before) set.
func setMemswLimit(s *Stats, v int64) {
	switch {
	case v == Unlimited || s.Memory.Limit == Unlimited:
		s.Memory.SwapLimit = Unlimited
	default:
		s.Memory.SwapLimit = max(v-s.Memory.Limit, 0)
	}
}

func (d *v1) stats(s *Stats) error { return readStats(d.statFiles, s) }
