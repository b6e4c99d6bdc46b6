package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

func (d *v2) set(r *Resources) error {
	if r == nil {
		return nil
	}
	return firstErr(
		func() error { return d.setMemory(r.Memory) },
		func() error { return d.setCPU(r.CPU) },
		func() error { return d.setIO(r.IO) },
		func() error { return d.setPids(r.Pids) },
	)
}

// firstErr runs steps in order and stops at the first error.
func firstErr(steps ...func() error) error {
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// v2Limit formats a limit: "max" for Unlimited.
func v2Limit(v int64) string {
	if v == Unlimited {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// writeOpt writes v (formatted by format) to name when v is not nil.
func writeOpt[T any](w writer, dir, name string, v *T, format func(T) string) error {
	if v == nil {
		return nil
	}
	return w.write(dir, name, format(*v))
}

func (d *v2) setMemory(m *Memory) error {
	if m == nil {
		return nil
	}
	return firstErr(
		func() error { return writeOpt(d.w, d.dir, "memory.max", m.Max, v2Limit) },
		func() error { return writeOpt(d.w, d.dir, "memory.low", m.Low, v2Limit) },
		func() error {
			err := writeOpt(d.w, d.dir, "memory.swap.max", m.Swap, v2Limit)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no memory.swap.max (kernel without swap accounting): %w", errors.ErrUnsupported)
			}
			return err
		},
	)
}

func (d *v2) setCPU(c *CPU) error {
	if c == nil {
		return nil
	}
	return firstErr(
		func() error { return writeOpt(d.w, d.dir, "cpu.weight", c.Weight, formatUint) },
		func() error { return d.setCPUMax(c.Quota, c.Period) },
		func() error { return writeStr(d.w, d.dir, "cpuset.cpus", c.Cpus) },
		func() error { return writeStr(d.w, d.dir, "cpuset.mems", c.Mems) },
	)
}

func formatUint(v uint64) string { return strconv.FormatUint(v, 10) }

// writeStr writes a non-empty string setting.
func writeStr(w writer, dir, name, v string) error {
	if v == "" {
		return nil
	}
	return w.write(dir, name, v)
}

// setCPUMax writes cpu.max "QUOTA PERIOD". The kernel keeps the period
// when only a quota is written; a period alone needs the current quota.
func (d *v2) setCPUMax(quota *int64, period *uint64) error {
	switch {
	case quota == nil && period == nil:
		return nil
	case period == nil:
		return d.w.write(d.dir, "cpu.max", v2Limit(*quota))
	case quota != nil:
		return d.w.write(d.dir, "cpu.max", v2Limit(*quota)+" "+formatUint(*period))
	}
	cur, err := readString(d.dir, "cpu.max")
	if err != nil {
		return err
	}
	q, _, _ := strings.Cut(strings.TrimSpace(cur), " ")
	if q == "" {
		q = "max"
	}
	return d.w.write(d.dir, "cpu.max", q+" "+formatUint(*period))
}

func (d *v2) setIO(o *IO) error {
	if o == nil {
		return nil
	}
	if o.Weight != nil {
		if err := d.setIOWeight(*o.Weight); err != nil {
			return err
		}
	}
	for _, l := range o.Limits {
		if line := ioMaxLine(l); line != "" {
			if err := d.w.write(d.dir, "io.max", line); err != nil {
				return err
			}
		}
	}
	return nil
}

// setIOWeight writes io.weight, or io.bfq.weight where only BFQ offers
// a weight.
func (d *v2) setIOWeight(w uint64) error {
	switch {
	case d.w.fake && !exists(filepath.Join(d.dir, "io.bfq.weight")), exists(filepath.Join(d.dir, "io.weight")):
		return d.w.write(d.dir, "io.weight", "default "+formatUint(w))
	case exists(filepath.Join(d.dir, "io.bfq.weight")):
		return d.w.write(d.dir, "io.bfq.weight", formatUint(w))
	}
	return fmt.Errorf("no io.weight or io.bfq.weight in %s (no I/O scheduler with weights): %w", d.dir, errors.ErrUnsupported)
}

// ioMaxLine renders l as an io.max line; "" when it sets nothing.
func ioMaxLine(l IOLimit) string {
	var b strings.Builder
	for _, f := range []struct {
		key string
		v   int64
	}{{"rbps", l.ReadBPS}, {"wbps", l.WriteBPS}, {"riops", l.ReadIOPS}, {"wiops", l.WriteIOPS}} {
		if f.v != 0 {
			fmt.Fprintf(&b, " %s=%s", f.key, v2Limit(f.v))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d%s", l.Major, l.Minor, b.String())
}

func (d *v2) setPids(p *Pids) error {
	if p == nil {
		return nil
	}
	return writeOpt(d.w, d.dir, "pids.max", p.Max, v2Limit)
}
