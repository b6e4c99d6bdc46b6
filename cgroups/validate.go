package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Bounds the kernel enforces, checked before anything is written.
const (
	minWeight    = 1
	maxWeight    = 10000
	minQuotaUsec = 1000
	minPeriod    = 1000
	maxPeriod    = 1000000
)

// Validate checks r for values the kernel would reject or misread:
// negative sizes, weights out of range, a CPU quota or period out of
// range, malformed cpuset lists and device rules. It does not know which
// CPUs exist; [New] and [Group.Set] check that against the host as well.
// The error wraps [fs.ErrInvalid]. A nil r is valid.
func (r *Resources) Validate() error {
	if r == nil {
		return nil
	}
	return errors.Join(r.Memory.validate(), r.CPU.validate(), r.IO.validate(),
		r.Pids.validate(), validateDevices(r.Devices))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("invalid cgroup resources: "+format+": %w", append(args, fs.ErrInvalid)...)
}

// checkLimit accepts Unlimited or a value of at least lowest.
func checkLimit(name string, v *int64, lowest int64) error {
	if v == nil || *v == Unlimited || *v >= lowest {
		return nil
	}
	return invalid("%s %d: want at least %d or Unlimited (-1)", name, *v, lowest)
}

func checkWeight(name string, w *uint64) error {
	if w == nil || (*w >= minWeight && *w <= maxWeight) {
		return nil
	}
	return invalid("%s %d: want %d to %d", name, *w, minWeight, maxWeight)
}

func (m *Memory) validate() error {
	if m == nil {
		return nil
	}
	return errors.Join(checkLimit("memory max", m.Max, 1), checkLimit("memory low", m.Low, 0),
		checkLimit("memory swap", m.Swap, 0))
}

func (c *CPU) validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	errs = append(errs, checkWeight("cpu weight", c.Weight), checkLimit("cpu quota", c.Quota, minQuotaUsec))
	if c.Period != nil && (*c.Period < minPeriod || *c.Period > maxPeriod) {
		errs = append(errs, invalid("cpu period %d: want %d to %d microseconds", *c.Period, minPeriod, maxPeriod))
	}
	if c.Cpus != "" {
		if _, err := ParseCPUSet(c.Cpus); err != nil {
			errs = append(errs, invalid("cpuset cpus %q: %v", c.Cpus, err))
		}
	}
	if c.Mems != "" {
		if _, err := ParseCPUSet(c.Mems); err != nil {
			errs = append(errs, invalid("cpuset mems %q: %v", c.Mems, err))
		}
	}
	return errors.Join(errs...)
}

func (o *IO) validate() error {
	if o == nil {
		return nil
	}
	errs := []error{checkWeight("io weight", o.Weight)}
	for _, l := range o.Limits {
		if l.Major < 0 || l.Minor < 0 {
			errs = append(errs, invalid("io limit device %d:%d: negative number", l.Major, l.Minor))
		}
		dev := fmt.Sprintf("io limit %d:%d", l.Major, l.Minor)
		for _, r := range []struct {
			name string
			v    int64
		}{{"rbps", l.ReadBPS}, {"wbps", l.WriteBPS}, {"riops", l.ReadIOPS}, {"wiops", l.WriteIOPS}} {
			if r.v < Unlimited {
				errs = append(errs, invalid("%s %s %d: want 0, positive or Unlimited (-1)", dev, r.name, r.v))
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Pids) validate() error {
	if p == nil {
		return nil
	}
	return checkLimit("pids max", p.Max, 0)
}

func validateDevices(rules []DeviceRule) error {
	var errs []error
	for i, r := range rules {
		if err := r.validate(); err != nil {
			errs = append(errs, invalid("device rule %d: %v", i, err))
		}
	}
	return errors.Join(errs...)
}

func (r DeviceRule) validate() error {
	switch r.Type {
	case 'a':
		return nil
	case 'b', 'c':
	default:
		return fmt.Errorf("type %q: want 'a', 'b' or 'c'", r.Type)
	}
	if r.Major < -1 || r.Minor < -1 {
		return fmt.Errorf("device %d:%d: want a number or -1 for any", r.Major, r.Minor)
	}
	if r.Access == "" || len(r.Access) > 3 {
		return fmt.Errorf("access %q: want a combination of r, w and m", r.Access)
	}
	for i, c := range r.Access {
		if !strings.ContainsRune("rwm", c) || strings.ContainsRune(r.Access[:i], c) {
			return fmt.Errorf("access %q: want a combination of r, w and m", r.Access)
		}
	}
	return nil
}

// line renders r as the kernel's devices.allow/devices.deny syntax.
func (r DeviceRule) line() string {
	if r.Type == 'a' {
		return "a *:* rwm"
	}
	num := func(n int64) string {
		if n == -1 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s %s", r.Type, num(r.Major), num(r.Minor), r.Access)
}
