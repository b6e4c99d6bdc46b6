package netconfig

import (
	"bytes"
	"os"
	"strconv"
)

// processStart returns the start time of process pid in clock ticks since
// boot (field 22 of /proc/PID/stat), which tells a live process from a
// later one that reuses its PID. ok is false if the process does not exist.
func processStart(pid int) (start uint64, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may contain spaces and parentheses; the
	// fields after it start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(data[i+1:])
	const startField = 22 - 3 // fields[0] is field 3 (state)
	if len(fields) <= startField {
		return 0, false
	}
	start, err = strconv.ParseUint(string(fields[startField]), 10, 64)
	return start, err == nil
}
