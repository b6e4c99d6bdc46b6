package namespaces

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		flags uintptr
		prop  []uintptr
		data  string
	}{
		{name: "none"},
		{name: "defaults", words: []string{"defaults"}},
		{name: "flags", words: []string{"ro", "nosuid", "nodev", "noexec"}, flags: msRdonly | msNosuid | msNodev | msNoexec},
		{name: "later wins", words: []string{"ro", "rw", "noexec", "exec", "suid"}, flags: 0},
		{name: "atime words replace each other", words: []string{"noatime", "strictatime"}, flags: msStrictatime},
		{name: "bind", words: []string{"bind", "ro"}, flags: msBind | msRdonly},
		{name: "rbind", words: []string{"rbind"}, flags: msBind | msRec},
		{name: "propagation", words: []string{"rprivate", "slave"}, prop: []uintptr{msPrivate | msRec, msSlave}},
		{name: "data", words: []string{"nosuid", "mode=755", "size=65536k", "newinstance"}, flags: msNosuid, data: "mode=755,size=65536k,newinstance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseMountOptions(tt.words)
			require.NoError(t, err)
			assert.Equal(t, tt.flags, o.flags)
			assert.Equal(t, tt.prop, o.propagation)
			assert.Equal(t, tt.data, o.data)
		})
	}
	_, err := parseMountOptions([]string{"ro", ""})
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestParsePropagation(t *testing.T) {
	tests := []struct {
		in   string
		want uintptr
	}{
		{"", msSlave | msRec}, {"rslave", msSlave | msRec}, {"slave", msSlave},
		{"private", msPrivate}, {"rprivate", msPrivate | msRec},
		{"shared", msShared}, {"rshared", msShared | msRec},
	}
	for _, tt := range tests {
		got, err := parsePropagation(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"unbindable", "runbindable", "bogus", "ro"} {
		_, err := parsePropagation(bad)
		assert.ErrorIs(t, err, fs.ErrInvalid, bad)
	}
}

func TestDefaultsFollowHardening(t *testing.T) {
	byTarget := map[string]MountSpec{}
	for _, m := range DefaultMounts() {
		byTarget[m.Target] = m
	}
	want := map[string][]string{
		"/proc":          {"nosuid", "noexec", "nodev"},
		"/dev":           {"nosuid", "strictatime", "mode=755", "size=65536k"},
		"/dev/pts":       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
		"/dev/shm":       {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
		"/dev/mqueue":    {"nosuid", "noexec", "nodev"},
		"/sys":           {"ro", "nosuid", "noexec", "nodev"},
		"/sys/fs/cgroup": {"ro", "nosuid", "noexec", "nodev"},
	}
	require.Len(t, byTarget, len(want))
	for target, opts := range want {
		m, ok := byTarget[target]
		require.True(t, ok, target)
		for _, o := range opts {
			assert.Contains(t, m.Options, o, target)
		}
	}
	assert.Equal(t, "cgroup", byTarget["/sys/fs/cgroup"].Type)

	var devs []string
	for _, d := range DefaultDevices() {
		assert.Equal(t, 'c', d.Type)
		assert.Equal(t, fs.FileMode(0o666), d.Mode)
		devs = append(devs, d.Path)
	}
	assert.Equal(t, []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}, devs)

	masked := DefaultMaskedPaths()
	for _, p := range []string{"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
		"/sys/devices/virtual/powercap", "/sys/firmware"} {
		assert.True(t, slices.Contains(masked, p), p)
	}
	assert.Equal(t, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}, DefaultReadOnlyPaths())

	// Each call gives a fresh slice.
	a := DefaultMounts()
	a[0].Target = "/changed"
	assert.Equal(t, "/proc", DefaultMounts()[0].Target)
}

func TestValidate(t *testing.T) {
	good := func() *RootFS {
		return &RootFS{Path: "/rootfs", Mounts: DefaultMounts(), Devices: DefaultDevices(),
			MaskedPaths: DefaultMaskedPaths(), ReadOnlyPaths: DefaultReadOnlyPaths()}
	}
	p, err := good().validate()
	require.NoError(t, err)
	assert.Equal(t, uintptr(msSlave|msRec), p.propagation)
	assert.Len(t, p.mounts, len(DefaultMounts()))

	tests := []struct {
		name   string
		change func(r *RootFS)
	}{
		{"empty path", func(r *RootFS) { r.Path = "" }},
		{"relative path", func(r *RootFS) { r.Path = "rootfs" }},
		{"root path", func(r *RootFS) { r.Path = "/" }},
		{"bad propagation", func(r *RootFS) { r.Propagation = "sideways" }},
		{"empty option", func(r *RootFS) { r.Mounts[0].Options = []string{""} }},
		{"mount on /", func(r *RootFS) { r.Mounts[0].Target = "/../.." }},
		{"mount without type", func(r *RootFS) { r.Mounts[0].Type = "" }},
		{"bind without source", func(r *RootFS) {
			r.Mounts = append(r.Mounts, MountSpec{Target: "/data", Options: []string{"bind"}})
		}},
		{"device type", func(r *RootFS) { r.Devices[0].Type = 'x' }},
		{"device number", func(r *RootFS) { r.Devices[0].Minor = -1 }},
		{"device mode", func(r *RootFS) { r.Devices[0].Mode = fs.ModeSetuid | 0o666 }},
		{"device at /", func(r *RootFS) { r.Devices[0].Path = "/" }},
		{"masked NUL", func(r *RootFS) { r.MaskedPaths = []string{"/proc/\x00"} }},
		{"read-only /", func(r *RootFS) { r.ReadOnlyPaths = []string{"."} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.change(r)
			_, err := r.validate()
			assert.ErrorIs(t, err, fs.ErrInvalid)
		})
	}
}
