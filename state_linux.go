package berth

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// procStart returns the start time of process pid in clock ticks since
// boot: field 22 of /proc/PID/stat.
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields after it start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc/%d/stat: no ')'", pid)
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(fields))
	}
	// fields[0] is field 3 (state); field 22 is fields[19].
	return strconv.ParseUint(string(fields[19]), 10, 64)
}

// procZombie reports whether pid is a zombie (exited, not yet reaped).
func procZombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] == 'Z'
}

// alive reports whether the process pid still is the one that started at
// start (and has not exited).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := procStart(pid)
	return err == nil && got == start && !procZombie(pid)
}

// self returns this process's PID and start time. Neither changes while
// the process lives: they are read once (a failure is not kept).
func self() (int, uint64, error) {
	selfCache.mu.Lock()
	defer selfCache.mu.Unlock()
	if selfCache.pid != 0 {
		return selfCache.pid, selfCache.start, nil
	}
	pid := os.Getpid()
	start, err := procStart(pid)
	if err != nil {
		return 0, 0, fmt.Errorf("reading own start time: %w", err)
	}
	selfCache.pid, selfCache.start = pid, start
	return pid, start, nil
}

var selfCache struct {
	mu    sync.Mutex
	pid   int
	start uint64
}
