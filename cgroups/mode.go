package cgroups

// CGMode says how the cgroup hierarchies of a host are laid out. The name
// follows containerd's cgroups.CGMode; the package function [Mode] reports
// the host's.
type CGMode int

const (
	// Unavailable: no usable cgroup hierarchy is mounted.
	Unavailable CGMode = iota
	// Legacy: only cgroup v1 hierarchies, one per controller (or group of
	// controllers).
	Legacy
	// Hybrid: v1 hierarchies hold the controllers, and a cgroup2 mount
	// (usually /sys/fs/cgroup/unified, used by systemd for tracking) holds
	// none or few. This package uses the v1 hierarchies there.
	Hybrid
	// Unified: a single cgroup v2 hierarchy.
	Unified
)

// String returns "unavailable", "legacy", "hybrid" or "unified".
func (m CGMode) String() string {
	switch m {
	case Legacy:
		return "legacy"
	case Hybrid:
		return "hybrid"
	case Unified:
		return "unified"
	}
	return "unavailable"
}

// DefaultRoot is where the host's cgroup hierarchies are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// DefaultParent is the group under which [New] and [Load] place relative
// paths.
const DefaultParent = "/berth"

// Mode reports the layout of the host's hierarchies under [DefaultRoot].
// It probes once and caches the answer; it is safe for concurrent use.
func Mode() CGMode {
	return hostMode()
}
