package cgroups

// v2StatReaders lists the files v2 Stats reads, eleven in all.
func v2StatReaders(dir string, fake bool) []statReader {
	return []statReader{
		{newCFile(dir, "memory.current", fake), single(func(s *Stats, v uint64) { s.Memory.Usage = v })},
		{newCFile(dir, "memory.peak", fake), single(func(s *Stats, v uint64) { s.Memory.MaxUsage = v })},
		{newCFile(dir, "memory.max", fake), limit(func(s *Stats, v int64) { s.Memory.Limit = v })},
		{newCFile(dir, "memory.swap.current", fake), single(func(s *Stats, v uint64) { s.Memory.SwapUsage = v })},
		{newCFile(dir, "memory.swap.max", fake), limit(func(s *Stats, v int64) { s.Memory.SwapLimit = v })},
		{newCFile(dir, "memory.stat", fake), func(f string, b []byte, s *Stats) error { return parseV2MemoryStat(f, b, &s.Memory) }},
		{newCFile(dir, "memory.events", fake), parseV2MemoryEventsStats},
		{newCFile(dir, "cpu.stat", fake), func(f string, b []byte, s *Stats) error { return parseV2CPUStat(f, b, &s.CPU) }},
		{newCFile(dir, "pids.current", fake), single(func(s *Stats, v uint64) { s.Pids.Current = v })},
		{newCFile(dir, "pids.max", fake), limit(func(s *Stats, v int64) { s.Pids.Limit = v })},
		{newCFile(dir, "io.stat", fake), func(f string, b []byte, s *Stats) error { return parseV2IOStat(f, b, &s.IO) }},
	}
}

func parseV2MemoryEventsStats(file string, data []byte, s *Stats) error {
	var e Event
	if err := parseV2MemoryEvents(file, data, &e); err != nil {
		return err
	}
	s.Memory.Failcnt, s.Memory.OOM, s.Memory.OOMKill = e.Max, e.OOM, e.OOMKill
	return nil
}

func (d *v2) stats(s *Stats) error { return d.statFiles.read(s) }

func (d *v2) close() error { return d.statFiles.close() }
