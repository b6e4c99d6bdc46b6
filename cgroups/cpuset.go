package cgroups

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// maxCPUSetID bounds the CPU and node numbers ParseCPUSet accepts; the
// kernel's NR_CPUS is at most 8192.
const maxCPUSetID = 8191

// CPUSet is a set of CPU (or memory node) numbers, as in cpuset.cpus.
// The zero value is the empty set.
type CPUSet struct {
	words []uint64
}

// ParseCPUSet parses the kernel's list format: comma-separated numbers and
// inclusive ranges such as "0-3,8,10-11". Surrounding white space is
// ignored; an empty string is the empty set.
func ParseCPUSet(s string) (CPUSet, error) {
	var set CPUSet
	s = strings.TrimSpace(s)
	if s == "" {
		return set, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseCPUID(lo)
		if err != nil {
			return CPUSet{}, err
		}
		last := first
		if isRange {
			if last, err = parseCPUID(hi); err != nil {
				return CPUSet{}, err
			}
			if last < first {
				return CPUSet{}, fmt.Errorf("range %q: end before start", part)
			}
		}
		for id := first; id <= last; id++ {
			set.add(id)
		}
	}
	return set, nil
}

func parseCPUID(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q: not a number", s)
	}
	if n < 0 || n > maxCPUSetID {
		return 0, fmt.Errorf("%d: out of range 0-%d", n, maxCPUSetID)
	}
	return n, nil
}

func (s *CPUSet) add(id int) {
	for len(s.words) <= id/64 {
		s.words = append(s.words, 0)
	}
	s.words[id/64] |= 1 << (id % 64)
}

// Contains reports whether id is in s.
func (s CPUSet) Contains(id int) bool {
	return id >= 0 && id/64 < len(s.words) && s.words[id/64]&(1<<(id%64)) != 0
}

// Len returns the number of members.
func (s CPUSet) Len() int {
	n := 0
	for _, w := range s.words {
		n += bits.OnesCount64(w)
	}
	return n
}

// Missing returns the members of s that are not in have, in the list
// format, or "" when s is a subset of have.
func (s CPUSet) Missing(have CPUSet) string {
	var out []string
	for i, w := range s.words {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			w &^= 1 << b
			if id := i*64 + b; !have.Contains(id) {
				out = append(out, strconv.Itoa(id))
			}
		}
	}
	return strings.Join(out, ",")
}

// checkCPUSet checks that every member of list exists in the effective
// set read from the root group; what names the set ("cpus" or "mems").
func checkCPUSet(what, list, effective string) error {
	if list == "" {
		return nil
	}
	want, err := ParseCPUSet(list)
	if err != nil {
		return invalid("cpuset %s %q: %v", what, list, err)
	}
	have, err := ParseCPUSet(effective)
	if err != nil {
		return fmt.Errorf("reading the host's cpuset %s %q: %w", what, effective, err)
	}
	if missing := want.Missing(have); missing != "" {
		return invalid("cpuset %s %q: %s not available (the host has %q)", what, list, missing, strings.TrimSpace(effective))
	}
	if want.Len() == 0 {
		return invalid("cpuset %s %q: empty", what, list)
	}
	return nil
}
