package cgroups

import "time"

// v1StatReaders lists the files v1 Stats reads, thirteen in all, skipping
// controllers that are not mounted. The limits come from memory.stat.
func v1StatReaders(dirs map[string]string, fake bool) []statReader {
	var rs []statReader
	add := func(ctrl, name string, parse func(string, []byte, *Stats) error) {
		if dir, ok := dirs[ctrl]; ok {
			rs = append(rs, statReader{newCFile(dir, name, fake), parse})
		}
	}
	add("memory", "memory.usage_in_bytes", single(func(s *Stats, v uint64) { s.Memory.Usage = v }))
	add("memory", "memory.max_usage_in_bytes", single(func(s *Stats, v uint64) { s.Memory.MaxUsage = v }))
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

func (d *v1) stats(s *Stats) error { return d.statFiles.read(s) }

func (d *v1) close() error { return d.statFiles.close() }
