package cgroups

import (
	"errors"
	"fmt"
)

// newDriver picks the driver for root's layout: v2 on a unified host, v1
// on a legacy or hybrid one.
func newDriver(root, p string) (driver, CGMode, error) {
	l := probeRoot(root)
	switch l.mode {
	case Unified:
		return newV2(root, p, l.fake), l.mode, nil
	case Legacy, Hybrid:
		return newV1(l, p), l.mode, nil
	}
	return nil, Unavailable, fmt.Errorf("no cgroup hierarchy under %s: %w", root, errors.ErrUnsupported)
}
