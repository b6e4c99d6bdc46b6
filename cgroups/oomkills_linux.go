package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
)

// oomKills reads memory.oom_control's oom_kill count alone.
func (d *v1) oomKills() (uint64, error) {
	dir := d.dir("memory")
	ok := dir != ""
	if !ok {
		return 0, fmt.Errorf("no cgroup v1 hierarchy with the memory controller: %w", errors.ErrUnsupported)
	}
	file := filepath.Join(dir, "memory.oom_control")
	data, err := readSmall(file)
	if err != nil {
		return 0, err
	}
	var m MemoryStats
	if err := parseV1OOMControl(file, data, &m); err != nil {
		return 0, err
	}
	return m.OOMKill, nil
}

// oomKills reads memory.events's oom_kill count alone.
func (d *v2) oomKills() (uint64, error) {
	file := filepath.Join(d.dir, "memory.events")
	data, err := readSmall(file)
	if err != nil {
		return 0, err
	}
	var e Event
	if err := parseV2MemoryEvents(file, data, &e); err != nil {
		return 0, err
	}
	return e.OOMKill, nil
}
