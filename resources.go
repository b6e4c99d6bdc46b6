package berth

import (
	"errors"
	"path"

	"github.com/berthlabs/berth/cgroups"
)

// ErrOOMKilled is wrapped by the error [Container.Wait] (and Run) return
// when the container's init was killed (exit code 137) while the kernel's
// OOM killer was killing processes of the container: it reached its
// memory limit. The exit code is returned too. [State] records the fact as
// OOMKilled.
var ErrOOMKilled = errors.New("container was killed by the OOM killer (memory limit reached)")

// DefaultDeviceRules returns the device cgroup rules a container gets when
// its [Container.Resources] lists no Devices and the host has a devices
// controller (cgroup v1): everything denied, then read, write and mknod
// allowed for /dev/null (1:3), zero (1:5), full (1:7), random (1:8),
// urandom (1:9), tty (5:0), console (5:1), ptmx (5:2) and the
// pseudo-terminals (136:*), and /dev/fuse (10:229) denied explicitly, as
// Docker and the runtime spec's default devices do. Each call returns a
// new slice.
func DefaultDeviceRules() []cgroups.DeviceRule {
	allow := func(major, minor int64) cgroups.DeviceRule {
		return cgroups.DeviceRule{Allow: true, Type: 'c', Major: major, Minor: minor, Access: "rwm"}
	}
	return []cgroups.DeviceRule{
		{Allow: false, Type: 'a', Major: -1, Minor: -1, Access: "rwm"},
		allow(1, 3), allow(1, 5), allow(1, 7), allow(1, 8), allow(1, 9),
		allow(5, 0), allow(5, 1), allow(5, 2), allow(136, -1),
		{Allow: false, Type: 'c', Major: 10, Minor: 229, Access: "rwm"},
	}
}

// cgroupPath is the container's cgroup: c.Cgroup, or its ID under the
// default parent.
func (c *Container) cgroupPath() string {
	switch {
	case c.Cgroup == "":
		return path.Join(cgroups.DefaultParent, c.ID)
	case path.IsAbs(c.Cgroup):
		return path.Clean(c.Cgroup)
	}
	return path.Join(cgroups.DefaultParent, c.Cgroup)
}

// withDefaultDevices returns r with the default device rules when it has
// none; r itself is not changed.
func withDefaultDevices(r *cgroups.Resources) *cgroups.Resources {
	out := cgroups.Resources{}
	if r != nil {
		out = *r
	}
	if len(out.Devices) == 0 {
		out.Devices = DefaultDeviceRules()
	}
	return &out
}
