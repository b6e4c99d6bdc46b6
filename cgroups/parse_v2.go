package cgroups

import (
	"bytes"
	"strconv"
	"time"
)

// parseV2MemoryStat reads anon, file and kernel from a v2 memory.stat.
func parseV2MemoryStat(file string, data []byte, m *MemoryStats) error {
	var kernelStack, slab uint64
	err := eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "anon":
			m.Anon = v
		case "file":
			m.File = v
		case "kernel":
			m.Kernel = v
		case "kernel_stack":
			kernelStack = v
		case "slab":
			slab = v
		}
	})
	if m.Kernel == 0 {
		m.Kernel = kernelStack + slab
	}
	return err
}

// parseV2MemoryEvents reads max, oom and oom_kill from memory.events.
func parseV2MemoryEvents(file string, data []byte, e *Event) error {
	return eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "low":
			e.Low = v
		case "high":
			e.High = v
		case "max":
			e.Max = v
		case "oom":
			e.OOM = v
		case "oom_kill":
			e.OOMKill = v
		}
	})
}

// parseV2CPUStat reads a v2 cpu.stat.
func parseV2CPUStat(file string, data []byte, c *CPUStats) error {
	return eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "usage_usec":
			c.Usage = usec(v)
		case "user_usec":
			c.User = usec(v)
		case "system_usec":
			c.System = usec(v)
		case "nr_periods":
			c.Periods = v
		case "nr_throttled":
			c.ThrottledPeriods = v
		case "throttled_usec":
			c.Throttled = usec(v)
		}
	})
}

func usec(v uint64) time.Duration { return time.Duration(v) * time.Microsecond }

// parseV2IOStat reads io.stat lines such as
// "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0".
func parseV2IOStat(file string, data []byte, s *IOStats) error {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := parseV2IOLine(line, s); err != nil {
			return parseErr(file, n, line, err)
		}
	}
	return nil
}

func parseV2IOLine(line []byte, s *IOStats) error {
	dev, rest, _ := bytes.Cut(line, []byte{' '})
	major, minor, err := parseDevice(dev)
	if err != nil {
		return err
	}
	d := s.device(major, minor)
	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte{' '})
		if len(field) == 0 {
			continue
		}
		k, val, ok := bytes.Cut(field, []byte{'='})
		if !ok {
			return strconv.ErrSyntax
		}
		v, err := parseUint(val)
		if err != nil {
			return err
		}
		switch string(k) {
		case "rbytes":
			d.ReadBytes = v
		case "wbytes":
			d.WriteBytes = v
		case "rios":
			d.ReadOps = v
		case "wios":
			d.WriteOps = v
		}
	}
	return nil
}
