package namespaces

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// MountSpec is one mount of a container's file system tree, in the words
// of mount(8). It is data: [RootFS.Setup] performs it. (It is not called
// Mount because [Mount] is the mount namespace [Kind].)
type MountSpec struct {
	// Source is what is mounted: a host path for bind mounts, or a name
	// shown in the mount table ("proc", "tmpfs"). Empty means Type.
	Source string
	// Target is where, as a path inside the root file system. It is
	// resolved with the rootfs as "/", so neither ".." nor a symlink can
	// lead out of it. Missing directories are created; the last one is a
	// file when a bind mount's source is not a directory.
	Target string
	// Type is the file-system type ("proc", "tmpfs", "sysfs", "devpts",
	// "mqueue", ...). It is ignored for bind mounts. The type "cgroup"
	// stands for the container's view of the cgroup hierarchies: one
	// cgroup2 mount on a unified host, or a tmpfs holding one mount per
	// hierarchy on a v1 or hybrid host.
	Type string
	// Options are mount(8) words: ro, rw, nosuid, nodev, noexec, bind,
	// rbind, the atime words, the propagation words (private, rprivate,
	// slave, rslave, shared, rshared, unbindable, runbindable) and any
	// file-system option (mode=755, size=64m, ...), which is passed on as
	// data. A bind mount with ro or another flag is remounted with it.
	Options []string
}

// Device is a device node or FIFO to create in the container.
type Device struct {
	// Path is where, inside the rootfs, such as "/dev/null". It is resolved
	// like [MountSpec.Target].
	Path string
	// Type is 'c' (character device), 'b' (block device) or 'p' (FIFO).
	Type rune
	// Major and Minor are the device number; ignored for 'p'.
	Major, Minor int64
	// Mode is the permission bits. Zero means 0666.
	Mode fs.FileMode
	// UID and GID own the node, as IDs inside the container.
	UID, GID uint32
}

// RootFS describes a container's root file system and what is mounted in
// it. [RootFS.Setup] builds it inside the calling process's mount namespace.
// The zero value is not usable: Path is required. Start from
// [DefaultMounts], [DefaultDevices], [DefaultMaskedPaths] and
// [DefaultReadOnlyPaths] to get Docker's defaults.
type RootFS struct {
	// Path is the host directory that becomes "/". Required; absolute.
	Path string
	// ReadOnly remounts "/" read-only as the last step.
	ReadOnly bool
	// Mounts are all the mounts, performed in order; nothing is mounted
	// unless listed. [DefaultMounts] gives /proc, /dev, /dev/pts,
	// /dev/shm, /dev/mqueue, /sys and /sys/fs/cgroup.
	Mounts []MountSpec
	// Devices are created after the mounts (so in the /dev tmpfs, if
	// mounted). In a user namespace, where mknod(2) is refused, the host's
	// node at the same path is bind-mounted instead. Setup always adds the
	// links /dev/ptmx -> pts/ptmx, /dev/fd -> /proc/self/fd and
	// /dev/stdin, /dev/stdout, /dev/stderr -> /proc/self/fd/0, 1, 2 where
	// nothing exists at those paths.
	Devices []Device
	// MaskedPaths are hidden after the mounts: a file gets the host's
	// /dev/null bound over it, a directory an empty read-only tmpfs (a
	// clone of MaskSource, when set). Paths that do not exist are skipped.
	MaskedPaths []string
	// MaskSource, when set, is an empty read-only directory mount made by
	// [NewMaskSource], cloned onto each masked directory instead of a
	// tmpfs of the directory's own: the masks of every root set up with it
	// share one superblock, which saves a superblock, a root inode and,
	// on kernels that size a table in every memory cgroup by the number
	// of superblocks, that table's growth, per masked directory. Where the
	// kernel refuses to clone it, a tmpfs is mounted as without it. It is
	// not part of the description's data; the caller keeps it open.
	MaskSource *os.File `json:"-"`
	// ReadOnlyPaths are bound onto themselves and made read-only after the
	// mounts. Paths that do not exist are skipped.
	ReadOnlyPaths []string
	// Propagation is the mount propagation of the container's "/" after
	// pivot_root: "private", "rprivate", "slave", "rslave", "shared" or
	// "rshared". Empty means "rslave": the container receives mounts the
	// host makes below Path and never sends any back. Whatever its value,
	// all mounts are rslave during Setup, so nothing Setup mounts reaches
	// the host.
	Propagation string
	// DeferProc leaves the "proc" mounts, and the masked and read-only
	// paths below them, to [RootFS.MountProc]: Setup only makes their
	// target directories. It is for a caller that sets the root up from
	// outside the container's PID namespace, whose first process must
	// exist before its /proc can be mounted. False: Setup mounts /proc
	// itself, showing the calling process's PID namespace.
	DeferProc bool
	// BeforeMount, when set, is called by Setup before each of Mounts is
	// performed; an error stops Setup. It lets a caller start Setup
	// before everything a mount needs exists (a cgroup, a bind source) and
	// wait there. It is not part of the description's data.
	BeforeMount func(MountSpec) error `json:"-"`
}

// DefaultMounts returns Docker's default mounts: /proc (nosuid, noexec,
// nodev), /dev (tmpfs, nosuid, strictatime, mode=755, size=65536k),
// /dev/pts (devpts, newinstance, ptmxmode=0666, mode=0620, gid=5),
// /dev/shm (tmpfs, mode=1777, size=65536k), /dev/mqueue, /sys (sysfs,
// read-only) and /sys/fs/cgroup (read-only). Each call returns a new
// slice.
func DefaultMounts() []MountSpec {
	return []MountSpec{
		{Source: "proc", Target: "/proc", Type: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Source: "tmpfs", Target: "/dev", Type: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Source: "devpts", Target: "/dev/pts", Type: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Source: "shm", Target: "/dev/shm", Type: "tmpfs", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Source: "mqueue", Target: "/dev/mqueue", Type: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Source: "sysfs", Target: "/sys", Type: "sysfs", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Source: "cgroup", Target: "/sys/fs/cgroup", Type: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev", "relatime"}},
	}
}

// DefaultDevices returns the standard nodes of /dev, each mode 0666 and
// owned by root: null, zero, full, random, urandom and tty. Each call
// returns a new slice.
func DefaultDevices() []Device {
	dev := func(name string, major, minor int64) Device {
		return Device{Path: "/dev/" + name, Type: 'c', Major: major, Minor: minor, Mode: 0o666}
	}
	return []Device{
		dev("null", 1, 3), dev("zero", 1, 5), dev("full", 1, 7),
		dev("random", 1, 8), dev("urandom", 1, 9), dev("tty", 5, 0),
	}
}

// DefaultMaskedPaths returns the paths Docker masks: /proc/acpi,
// /proc/asound, /proc/interrupts, /proc/kcore, /proc/keys,
// /proc/latency_stats, /proc/sched_debug, /proc/scsi, /proc/timer_list,
// /proc/timer_stats, /sys/devices/virtual/powercap, /sys/firmware, and
// each /sys/devices/system/cpu/cpuN/thermal_throttle that exists on this
// host. Each call returns a new slice.
func DefaultMaskedPaths() []string {
	paths := []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
	}
	return append(paths, thermalThrottle()...)
}

// thermalThrottle lists the host's thermal_throttle directories once per
// process (reading /sys/devices/system/cpu costs dozens of system calls).
var thermalThrottle = sync.OnceValue(func() []string {
	throttle, _ := filepath.Glob("/sys/devices/system/cpu/cpu*/thermal_throttle")
	return throttle
})

// DefaultReadOnlyPaths returns the paths Docker makes read-only: /proc/bus,
// /proc/fs, /proc/irq, /proc/sys and /proc/sysrq-trigger. Each call returns
// a new slice.
func DefaultReadOnlyPaths() []string {
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

// plan is a RootFS checked and parsed, ready to perform.
type plan struct {
	propagation uintptr
	mounts      []plannedMount
}

type plannedMount struct {
	MountSpec
	opts mountOptions
}

// validate checks r without touching the system, so that Setup reports a
// bad description before it changes anything. Errors wrap fs.ErrInvalid.
func (r *RootFS) validate() (*plan, error) {
	if r.Path == "" || !filepath.IsAbs(r.Path) || filepath.Clean(r.Path) == "/" {
		return nil, fmt.Errorf("rootfs path %q: not an absolute path below /: %w", r.Path, fs.ErrInvalid)
	}
	prop, err := parsePropagation(r.Propagation)
	if err != nil {
		return nil, err
	}
	p := &plan{propagation: prop}
	for _, m := range r.Mounts {
		opts, err := parseMountOptions(m.Options)
		if err != nil {
			return nil, fmt.Errorf("mount on %q: %w", m.Target, err)
		}
		if err := checkInside("mount target", m.Target); err != nil {
			return nil, err
		}
		if !opts.bind() && m.Type == "" {
			return nil, fmt.Errorf("mount on %q: no type: %w", m.Target, fs.ErrInvalid)
		}
		if opts.bind() && m.Source == "" {
			return nil, fmt.Errorf("bind mount on %q: no source: %w", m.Target, fs.ErrInvalid)
		}
		p.mounts = append(p.mounts, plannedMount{MountSpec: m, opts: opts})
	}
	for _, d := range r.Devices {
		if err := d.validate(); err != nil {
			return nil, err
		}
	}
	for _, list := range [][]string{r.MaskedPaths, r.ReadOnlyPaths} {
		for _, pth := range list {
			if err := checkInside("path", pth); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// checkInside rejects a path inside the rootfs that names nothing below
// "/": empty, NUL bytes, or "/" itself after cleaning.
func checkInside(what, p string) error {
	if strings.IndexByte(p, 0) >= 0 || path.Clean("/"+p) == "/" {
		return fmt.Errorf("%s %q: must name something below /: %w", what, p, fs.ErrInvalid)
	}
	return nil
}

func (d Device) validate() error {
	if err := checkInside("device", d.Path); err != nil {
		return err
	}
	switch d.Type {
	case 'c', 'b', 'p':
	default:
		return fmt.Errorf("device %q: type %q is not 'c', 'b' or 'p': %w", d.Path, d.Type, fs.ErrInvalid)
	}
	if d.Major < 0 || d.Minor < 0 || d.Major > 0xfff || d.Minor > 0xfffff {
		return fmt.Errorf("device %q: number %d:%d out of range: %w", d.Path, d.Major, d.Minor, fs.ErrInvalid)
	}
	if d.Mode&^fs.ModePerm != 0 {
		return fmt.Errorf("device %q: mode %v has more than permission bits: %w", d.Path, d.Mode, fs.ErrInvalid)
	}
	return nil
}
