package cgroups

import (
	"bytes"
	"strconv"
	"time"
)

// userHZ is the tick of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

// parseV1MemoryStat reads a v1 memory.stat: the hierarchical total_
// values, and the effective limits (hierarchical_memory_limit, and
// hierarchical_memsw_limit for memory plus swap, absent without swap
// accounting).
func parseV1MemoryStat(file string, data []byte, m *MemoryStats) error {
	memsw := uint64(0)
	m.Limit, m.SwapLimit = Unlimited, Unlimited
	err := eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "total_rss":
			m.Anon = v
		case "total_cache":
			m.File = v
		case "total_swap":
			m.SwapUsage = v
		case "hierarchical_memory_limit":
			m.Limit = v1Bytes(v)
		case "hierarchical_memsw_limit":
			memsw = v
		}
	})
	if memsw != 0 && memsw < v1Unlimited && m.Limit != Unlimited {
		m.SwapLimit = int64(memsw) - min(m.Limit, int64(memsw))
	}
	return err
}

// v1Bytes turns a v1 byte count into a limit: Unlimited when it is the
// "no limit" value.
func v1Bytes(v uint64) int64 {
	if v >= v1Unlimited {
		return Unlimited
	}
	return int64(v)
}

// parseV1OOMControl reads memory.oom_control: oom_kill_disable, under_oom
// and (4.13+) oom_kill.
func parseV1OOMControl(file string, data []byte, m *MemoryStats) error {
	var under uint64
	err := eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "under_oom":
			under = v
		case "oom_kill":
			m.OOMKill = v
		}
	})
	m.OOM = m.OOMKill
	if under != 0 {
		m.OOM = 1
	}
	return err
}

// parseV1CPUAcctStat reads cpuacct.stat ("user N", "system N" in ticks).
func parseV1CPUAcctStat(file string, data []byte, c *CPUStats) error {
	return eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "user":
			c.User = time.Duration(v) * (time.Second / userHZ)
		case "system":
			c.System = time.Duration(v) * (time.Second / userHZ)
		}
	})
}

// parseV1CPUStat reads a v1 cpu.stat (throttled_time in nanoseconds).
func parseV1CPUStat(file string, data []byte, c *CPUStats) error {
	return eachKV(file, data, func(k []byte, v uint64) {
		switch string(k) {
		case "nr_periods":
			c.Periods = v
		case "nr_throttled":
			c.ThrottledPeriods = v
		case "throttled_time":
			c.Throttled = time.Duration(v)
		}
	})
}

// parseV1Blkio reads blkio.throttle.io_service_bytes_recursive (isBytes)
// or io_serviced_recursive: "8:0 Read 4096" lines and a closing "Total N".
func parseV1Blkio(file string, data []byte, s *IOStats, isBytes bool) error {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		f1, f2, f3, count := fields3(line)
		switch {
		case count == 0:
			continue
		case count == 2 && string(f1) == "Total":
			if _, err := parseUint(f2); err != nil {
				return parseErr(file, n, line, err)
			}
			continue
		case count != 3:
			return parseErr(file, n, line, strconv.ErrSyntax)
		}
		major, minor, err := parseDevice(f1)
		if err != nil {
			return parseErr(file, n, line, err)
		}
		v, err := parseUint(f3)
		if err != nil {
			return parseErr(file, n, line, err)
		}
		setBlkio(s.device(major, minor), string(f2), v, isBytes)
	}
	return nil
}

func setBlkio(d *IODeviceStats, op string, v uint64, isBytes bool) {
	switch {
	case op == "Read" && isBytes:
		d.ReadBytes = v
	case op == "Write" && isBytes:
		d.WriteBytes = v
	case op == "Read":
		d.ReadOps = v
	case op == "Write":
		d.WriteOps = v
	}
}

// fields3 splits line at spaces into at most three fields; count is the
// number found, 4 meaning more than three.
func fields3(line []byte) (a, b, c []byte, count int) {
	var f [3][]byte
	for len(line) > 0 {
		line = bytes.TrimLeft(line, " \t")
		if len(line) == 0 {
			break
		}
		end := bytes.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		if count == 3 {
			return f[0], f[1], f[2], 4
		}
		f[count] = line[:end]
		count++
		line = line[end:]
	}
	return f[0], f[1], f[2], count
}
