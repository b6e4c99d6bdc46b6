package namespaces

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

func TestMountAttrs(t *testing.T) {
	for _, tc := range []struct {
		opts []string
		want int
	}{
		{nil, 0},
		{[]string{"nosuid", "noexec", "nodev"}, unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODEV},
		{[]string{"ro", "noatime"}, unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOATIME},
		{[]string{"strictatime", "nodiratime"}, unix.MOUNT_ATTR_STRICTATIME | unix.MOUNT_ATTR_NODIRATIME},
	} {
		o, err := parseMountOptions(tc.opts)
		assert.NoError(t, err)
		assert.Equal(t, tc.want, mountAttrs(o.flags), tc.opts)
	}
}

func TestUnderProcAndDeferred(t *testing.T) {
	r := &RootFS{Path: "/x", Mounts: DefaultMounts(), DeferProc: true}
	p, err := r.validate()
	assert.NoError(t, err)
	s := &setup{r: r, plan: p}
	for path, want := range map[string]bool{
		"/proc": true, "/proc/sys": true, "proc/kcore": true, "/procfs": false, "/sys/firmware": false, "/": false,
	} {
		assert.Equal(t, want, s.underProc(path), path)
		assert.Equal(t, !want, s.notDeferred(path), path)
	}
	for _, m := range p.mounts {
		assert.Equal(t, m.Type == "proc", s.deferred(m), m.Target)
	}
	r.DeferProc = false
	assert.True(t, s.notDeferred("/proc/sys"), "without DeferProc Setup does everything")
}
